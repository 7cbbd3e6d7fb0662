/** mproc: Python's multiprocessing for C. Include this one header.
 * @file
 */
#ifndef MPROC_H
#define MPROC_H

#include "mproc/export.h"
#include "mproc/alloc.h"
#include "mproc/version.h"
#include "mproc/error.h"
#include "mproc/pass.h"
#include "mproc/process.h"
#include "mproc/shared.h"
#include "mproc/sync.h"
#include "mproc/shm.h"
#include "mproc/queue.h"
#include "mproc/pipe.h"
#include "mproc/wakeup.h"
#include "mproc/futures.h"
#include "mproc/pool.h"
#include "mproc/connection.h"
#include "mproc/manager.h"

#endif
