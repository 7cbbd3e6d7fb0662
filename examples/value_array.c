/* Python's guide, "Sharing state between processes — shared memory":
 *
 *   from multiprocessing import Process, Value, Array
 *   def f(n, a):
 *       n.value = 3.1415927
 *       for i in range(len(a)):
 *           a[i] = -a[i]
 *   if __name__ == '__main__':
 *       num = Value('d', 0.0)
 *       arr = Array('i', range(10))
 *       p = Process(target=f, args=(num, arr))
 *       p.start()
 *       p.join()
 *       print(num.value)
 *       print(arr[:])
 *
 * In C the two objects go in the child's pass list (Python's args) and the
 * child takes them ready to use, under every start method; the parent may
 * drop its own handles once the start returns (it keeps them here to print
 * the result). A pointer in the argument bytes would not do: under spawn
 * the child is a new program image where the address means nothing.
 * An optional argument picks the start method.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mproc.h>

static int f(const void *arg, size_t len) {
  mproc_array *num, *arr;
  int32_t *a;
  size_t i;
  (void)arg, (void)len;
  if (mproc_inherited(0, MPROC_KIND_ARRAY, &num) ||
      mproc_inherited(1, MPROC_KIND_ARRAY, &arr))
    return 1;
  *(double *)mproc_array_ptr(num) = 3.1415927;
  a = mproc_array_ptr(arr);
  for (i = 0; i < mproc_array_len(arr); i++) a[i] = -a[i];
  mproc_array_free(num);
  mproc_array_free(arr);
  return 0;
}
MPROC_TASK(f);

int main(int argc, char **argv) {
  double zero = 0.0;
  int32_t range[10];
  mproc_array *num, *arr;
  mproc_process *p;
  mproc_pass pass[2];
  mproc_process_opts opts = MPROC_PROCESS_OPTS_INIT;
  int i, code = -1;
  mproc_init(argc, argv);
  if (argc > 1) mproc_set_start_method((mproc_start_method)atoi(argv[1]));
  for (i = 0; i < 10; i++) range[i] = i;
  if (mproc_value_new(&num, 'd', &zero, NULL) ||
      mproc_array_new(&arr, 'i', 10, range, NULL)) {
    fprintf(stderr, "%s\n", mproc_last_error());
    return 1;
  }
  pass[0] = MPROC_PASS(num);
  pass[1] = MPROC_PASS(arr);
  opts.pass = pass;
  opts.n_pass = 2;
  if (mproc_process_new(&p, f, NULL, 0, &opts) ||
      mproc_process_start(p) || mproc_process_join(p, MPROC_FOREVER) ||
      mproc_process_exitcode(p, &code) || code != 0) {
    fprintf(stderr, "child failed: %s\n", mproc_last_error());
    return 1;
  }
  printf("%.7f\n[", *(double *)mproc_array_ptr(num));
  for (i = 0; i < 10; i++)
    printf("%s%d", i ? ", " : "", ((int32_t *)mproc_array_ptr(arr))[i]);
  printf("]\n");
  mproc_process_free(p);
  mproc_array_free(num);
  mproc_array_free(arr);
  return 0;
}
