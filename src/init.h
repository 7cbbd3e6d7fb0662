/* mproc: program set-up state (src/init.c). */
#ifndef MPROC_INIT_H
#define MPROC_INIT_H

#include "mproc/process.h"

/** 1 once mproc_init ran in this process. */
int mproc__initialized(void);

/** The method that started this child becomes its default (before its
 *  target runs). */
void mproc__set_child_method(mproc_start_method m);

#endif
