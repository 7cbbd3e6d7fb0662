/* Python's guide, "Sharing state between processes — server process":
 *
 *   from multiprocessing import Process, Manager
 *   def f(d, l):
 *       d[1] = '1'
 *       d['2'] = 2
 *       d[0.25] = None
 *       l.reverse()
 *   if __name__ == '__main__':
 *       with Manager() as manager:
 *           d = manager.dict()
 *           l = manager.list(range(10))
 *           p = Process(target=f, args=(d, l))
 *           p.start()
 *           p.join()
 *           print(d)
 *           print(l)
 *
 * with the Value, Array and Namespace a Manager also serves (the guide:
 * "list, dict, Namespace, Lock, ..., Value and Array"). The manager's dict
 * holds byte strings, so the keys and values are their printed forms.
 * The proxies go in the child's pass list like any shared object; the
 * parent could drop its own at once. An optional argument picks the start
 * method (of the child and of the server process).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

#define S(x) x, sizeof x - 1

static int f(const void *arg, size_t len) {
  mproc_proxy *d, *l, *num, *arr, *ns;
  mproc_items *all;
  mproc_bytes rev[10];
  double pi = 3.1415927;
  int32_t a[10];
  size_t i, n;
  (void)arg, (void)len;
  if (mproc_inherited(0, MPROC_KIND_PROXY, &d) ||
      mproc_inherited(1, MPROC_KIND_PROXY, &l) ||
      mproc_inherited(2, MPROC_KIND_PROXY, &num) ||
      mproc_inherited(3, MPROC_KIND_PROXY, &arr) ||
      mproc_inherited(4, MPROC_KIND_PROXY, &ns))
    return 1;
  if (mproc_dict_set(d, S("1"), S("'1'")) || mproc_dict_set(d, S("'2'"), S("2")) ||
      mproc_dict_set(d, S("0.25"), S("None")))
    return 2;
  /* l.reverse(): one snapshot, one slice assignment. */
  if (mproc_list_slice(l, 0, 10, &all)) return 3;
  n = mproc_items_count(all);
  for (i = 0; i < n; i++)
    mproc_items_get(all, n - 1 - i, &rev[i].data, &rev[i].len);
  if (mproc_list_set_slice(l, 0, (long)n, rev, n)) return 4;
  mproc_items_free(all);
  if (mproc_mvalue_set(num, &pi) || mproc_marray_read(arr, 0, 10, a)) return 5;
  for (i = 0; i < 10; i++) a[i] = -a[i];
  if (mproc_marray_write(arr, 0, 10, a) || mproc_ns_set(ns, "x", S("10")))
    return 6;
  mproc_proxy_free(d);
  mproc_proxy_free(l);
  mproc_proxy_free(num);
  mproc_proxy_free(arr);
  mproc_proxy_free(ns);
  return 0;
}
MPROC_TASK(f);

static void print_items(mproc_items *it, const char *open, const char *sep,
                        const char *pair, const char *close) {
  size_t i, n = mproc_items_count(it);
  const void *p;
  size_t len;
  printf("%s", open);
  for (i = 0; i < n; i++) {
    mproc_items_get(it, i, &p, &len);
    printf("%s%.*s", i == 0 ? "" : (pair && i % 2 ? pair : sep), (int)len,
           (const char *)p);
  }
  printf("%s\n", close);
}

static int fail(const char *what) {
  fprintf(stderr, "%s: %s\n", what, mproc_last_error());
  return 1;
}

int main(int argc, char **argv) {
  mproc_manager_opts mo = MPROC_MANAGER_OPTS_INIT;
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  mproc_manager *m;
  mproc_proxy *d, *l, *num, *arr, *ns;
  mproc_process *p;
  mproc_items *it;
  mproc_pass pass[5];
  char digits[10][2];
  mproc_bytes range[10];
  int32_t init[10], a[10];
  double v;
  void *x;
  size_t xl;
  int i, code = -1;
  mproc_init(argc, argv);
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  for (i = 0; i < 10; i++) {
    digits[i][0] = (char)('0' + i);
    range[i].data = digits[i];
    range[i].len = 1;
    init[i] = i;
  }
  if (mproc_manager_start(&m, &mo)) return fail("manager");
  if (mproc_manager_dict(m, &d) || mproc_manager_list(m, &l) ||
      mproc_list_extend(l, range, 10) ||
      mproc_manager_value(m, 'd', NULL, &num) ||
      mproc_manager_array(m, 'i', 10, init, &arr) ||
      mproc_manager_namespace(m, &ns))
    return fail("proxies");
  pass[0] = MPROC_PASS(d);
  pass[1] = MPROC_PASS(l);
  pass[2] = MPROC_PASS(num);
  pass[3] = MPROC_PASS(arr);
  pass[4] = MPROC_PASS(ns);
  po.pass = pass;
  po.n_pass = 5;
  if (mproc_process_new(&p, f, NULL, 0, &po) || mproc_process_start(p) ||
      mproc_process_join(p, MPROC_FOREVER) ||
      mproc_process_exitcode(p, &code) || code != 0)
    return fail("child");
  mproc_process_free(p);
  if (mproc_dict_items(d, &it)) return fail("items");
  print_items(it, "{", ", ", ": ", "}");
  mproc_items_free(it);
  if (mproc_list_slice(l, 0, 10, &it)) return fail("slice");
  print_items(it, "[", ", ", NULL, "]");
  mproc_items_free(it);
  if (mproc_mvalue_get(num, &v) || mproc_marray_read(arr, 0, 10, a) ||
      mproc_ns_get(ns, "x", &x, &xl))
    return fail("read");
  printf("%.7f\n[", v);
  for (i = 0; i < 10; i++) printf("%s%d", i ? ", " : "", (int)a[i]);
  printf("]\nNamespace(x=%.*s)\n", (int)xl, (const char *)x);
  mproc_free(x);
  mproc_proxy_free(d);
  mproc_proxy_free(l);
  mproc_proxy_free(num);
  mproc_proxy_free(arr);
  mproc_proxy_free(ns);
  mproc_manager_free(m); /* leaving `with Manager()`: the server stops */
  return 0;
}
