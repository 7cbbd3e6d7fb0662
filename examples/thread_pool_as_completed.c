/* Python's ThreadPoolExecutor example from the concurrent.futures docs,
 * in C:
 *
 *   with concurrent.futures.ThreadPoolExecutor(max_workers=5) as executor:
 *       future_to_url = {executor.submit(load_url, url, 60): url
 *                        for url in URLS}
 *       for future in concurrent.futures.as_completed(future_to_url):
 *           url = future_to_url[future]
 *           try:
 *               data = future.result()
 *           except Exception as exc:
 *               print('%r generated an exception: %s' % (url, exc))
 *           else:
 *               print('%r page is %d bytes' % (url, len(data)))
 *
 * CTest has no network, so load_url makes its page up (its size depends
 * on the address) and fails for the made-up domain, as the real one
 * would. */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static const char *const URLS[] = {
    "http://www.foxnews.com/", "http://www.cnn.com/",
    "http://europe.wsj.com/", "http://www.bbc.co.uk/",
    "http://nonexistent-subdomain.python.org/"};
#define NURLS (sizeof URLS / sizeof URLS[0])

/* The task: bytes in (the address), bytes out (the page). */
static int load_url(const void *in, size_t len, mproc_buf *out) {
  static const char bad[] = "http://nonexistent-";
  size_t i, size = 1000 + 37 * len;
  char *page;
  if (len >= sizeof bad - 1 && memcmp(in, bad, sizeof bad - 1) == 0)
    return mproc_task_fail(out, 1, "<urlopen error [Errno -2] Name or "
                           "service not known>");
  page = mproc_buf_reserve(out, size);
  if (page == NULL) return -1;
  for (i = 0; i < size; i++) page[i] = "<html>"[i % 6];
  return 0;
}

int main(int argc, char **argv) {
  mproc_executor *ex;
  mproc_executor_opts o = MPROC_EXECUTOR_OPTS_INIT;
  mproc_future *fs[NURLS], *f;
  mproc_as_completed *it;
  size_t i, n;
  mproc_init(argc, argv);
  o.max_workers = 5;
  if (mproc_executor_new(&ex, MPROC_EXECUTOR_THREAD, &o) != 0) {
    fprintf(stderr, "executor: %s\n", mproc_last_error());
    return 1;
  }
  for (i = 0; i < NURLS; i++)
    if (mproc_executor_submit(ex, load_url, URLS[i], strlen(URLS[i]),
                              &fs[i]) != 0) {
      fprintf(stderr, "submit: %s\n", mproc_last_error());
      return 1;
    }
  mproc_as_completed_new(&it, fs, NURLS, MPROC_FOREVER);
  while (mproc_as_completed_next(it, &f) == 0) {
    /* future_to_url[future]: the first submits' task numbers are 0..4 */
    const char *url = URLS[mproc_future_item(f)];
    int code;
    const char *msg;
    if (mproc_future_result(f, MPROC_FOREVER, NULL, &n) != 0) {
      mproc_future_exception(f, 0, &code, &msg);
      printf("'%s' generated an exception: %s\n", url, msg);
    } else {
      printf("'%s' page is %lu bytes\n", url, (unsigned long)n);
    }
  }
  mproc_as_completed_free(it);
  for (i = 0; i < NURLS; i++) mproc_future_free(fs[i]);
  mproc_executor_free(ex); /* the `with` block's shutdown(wait=True) */
  return 0;
}
