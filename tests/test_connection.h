/* mproc tests: Listener and Client, shared helpers. */
#ifndef MPROC_TEST_CONNECTION_H
#define MPROC_TEST_CONNECTION_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"

#define KEY "the authkey"
#define KEY_LEN (sizeof KEY - 1)
#define BIG_MSG ((size_t)3 << 20)

/* The byte at offset i of a test message. */
unsigned char tc_pattern(size_t i);
/* Accept one connection within 60 s, expecting `want` (0: success). */
mproc_conn *tc_accept(mproc_listener *l, int want);
/* Receive every message on c and send it back until the peer closes. */
void tc_echo(mproc_conn *c);

/* 1 where the local family is a named pipe (Windows). */
int tc_is_windows(void);

void test_child_client(void **state);
void test_child_given_accepted(void **state);
void test_child_wrong_key(void **state);
void test_child_killed_mid_handshake(void **state);

#endif
