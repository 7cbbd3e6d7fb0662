// bench/objects_boost: Boost.Interprocess's peer of bench/objects.c — many
// small named objects constructed inside one managed_shared_memory segment.
//
//   objects_boost N
//
// Prints, for bench/objects.c to read:
//   RESULT boost_mutex_us value=<us>     construct + destroy of a named
//                                        interprocess_mutex, per object,
//                                        in a batch of N (median of 5)
//   RESULT boost_value_us value=<us>     the same for a named uint64_t
//   RESULT boost_mutex_bytes value=<B>   segment bytes used per live mutex
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>

namespace bip = boost::interprocess;

static double now_us() {
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <typename T>
static double batch_us(bip::managed_shared_memory &seg, size_t n) {
  std::vector<std::string> names(n);
  for (size_t i = 0; i < n; i++) names[i] = "o" + std::to_string(i);
  double t0 = now_us();
  for (size_t i = 0; i < n; i++) seg.construct<T>(names[i].c_str())();
  for (size_t i = 0; i < n; i++) seg.destroy<T>(names[i].c_str());
  return (now_us() - t0) / (double)n;
}

template <typename T>
static double median_us(bip::managed_shared_memory &seg, size_t n) {
  std::vector<double> v;
  for (int r = 0; r < 5; r++) v.push_back(batch_us<T>(seg, n));
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  std::string name = "bobst" + std::to_string(getpid());
  bip::shared_memory_object::remove(name.c_str());
  try {
    bip::managed_shared_memory seg(bip::create_only, name.c_str(),
                                   64u << 20);
    std::printf("RESULT boost_mutex_us value=%.3f\n",
                median_us<bip::interprocess_mutex>(seg, n));
    std::printf("RESULT boost_value_us value=%.3f\n",
                median_us<unsigned long long>(seg, n));
    size_t before = seg.get_free_memory();
    for (size_t i = 0; i < n; i++)
      seg.construct<bip::interprocess_mutex>(("m" + std::to_string(i)).c_str())();
    std::printf("RESULT boost_mutex_bytes value=%.1f\n",
                (double)(before - seg.get_free_memory()) / (double)n);
  } catch (const std::exception &e) {
    std::printf("ERROR boost %s\n", e.what());
  }
  bip::shared_memory_object::remove(name.c_str());
  return 0;
}
