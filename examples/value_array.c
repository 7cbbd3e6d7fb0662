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
 * In C the child gets the two objects' names and opens them.
 */
#include <stdio.h>
#include <string.h>

#include <mproc.h>

typedef struct names {
  char num[MPROC_SHM_NAME_MAX + 1];
  char arr[MPROC_SHM_NAME_MAX + 1];
} names;

static int f(const void *arg, size_t len) {
  const names *n = arg;
  mproc_array *num, *arr;
  int32_t *a;
  size_t i;
  (void)len;
  if (mproc_array_open(&num, n->num) || mproc_array_open(&arr, n->arr))
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
  names n;
  int i, code = -1;
  mproc_init(argc, argv);
  for (i = 0; i < 10; i++) range[i] = i;
  if (mproc_value_new(&num, 'd', &zero, NULL) ||
      mproc_array_new(&arr, 'i', 10, range, NULL)) {
    fprintf(stderr, "%s\n", mproc_last_error());
    return 1;
  }
  memset(&n, 0, sizeof n);
  strcpy(n.num, mproc_array_name(num));
  strcpy(n.arr, mproc_array_name(arr));
  if (mproc_process_new(&p, f, &n, sizeof n, NULL) ||
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
