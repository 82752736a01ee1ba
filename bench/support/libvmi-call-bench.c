// The direct-C side of bench/libvmi.bench.ts: LibVMI calls in a loop, timed in C, on a raw memory
// file in file mode. Built by the bench from the installed libvmi headers; prints one JSON line.
#include <libvmi/libvmi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s RAW-FILE CALLS\n", argv[0]);
    return 2;
  }
  long calls = atol(argv[2]);
  vmi_instance_t vmi = NULL;
  vmi_init_error_t error = VMI_INIT_ERROR_NONE;
  if (vmi_init(&vmi, VMI_FILE, argv[1], VMI_INIT_DOMAINNAME, NULL, &error) != VMI_SUCCESS) {
    fprintf(stderr, "vmi_init failed (%d) on %s\n", (int)error, argv[1]);
    return 1;
  }
  uint64_t size = vmi_get_max_physical_address(vmi);
  uint64_t pages = size / 4096, sink = 0, value = 0;

  // A trivial accessor (returns a field): the cost of a call into the library and nothing else.
  double started = now();
  for (long i = 0; i < calls; i++) sink += vmi_get_ostype(vmi);
  double ostype = (now() - started) / calls;

  // 8-byte physical reads within one page: LibVMI's page cache hits.
  for (long i = 0; i < 512; i++) vmi_read_64_pa(vmi, 0x100000 + i * 8, &value);
  started = now();
  for (long i = 0; i < calls; i++) {
    vmi_read_64_pa(vmi, 0x100000 + (i & 511) * 8, &value);
    sink += value;
  }
  double cached = (now() - started) / calls;

  // 8-byte physical reads, at a pseudo-random page each time (the same sequence as the JS side,
  // which also measures after one warm-up pass that fills LibVMI's page cache).
  uint32_t seed = 7;
  for (long i = 0; i < calls; i++) {
    seed = seed * 1103515245u + 12345u;
    vmi_read_64_pa(vmi, (uint64_t)(seed % pages) * 4096 + 8, &value);
  }
  seed = 7;
  started = now();
  for (long i = 0; i < calls; i++) {
    seed = seed * 1103515245u + 12345u;
    vmi_read_64_pa(vmi, (uint64_t)(seed % pages) * 4096 + 8, &value);
    sink += value;
  }
  double read64 = (now() - started) / calls;

  // Sequential 1 MiB reads over the whole file.
  size_t chunk = 1 << 20, got = 0;
  uint8_t *buffer = malloc(chunk);
  double best = 0;
  for (int pass = 0; pass < 3; pass++) {
    started = now();
    for (uint64_t address = 0; address + chunk <= size; address += chunk)
      vmi_read_pa(vmi, address, chunk, buffer, &got);
    double rate = size / (now() - started);
    if (rate > best) best = rate;
  }
  sink += buffer[0];
  free(buffer);
  vmi_destroy(vmi);
  printf("{\"ostypeNs\":%.1f,\"cachedRead64Ns\":%.1f,\"read64Ns\":%.1f,"
         "\"bulkBytesPerSecond\":%.0f,\"sink\":%lu}\n",
         ostype * 1e9, cached * 1e9, read64 * 1e9, best, (unsigned long)(sink & 1));
  return 0;
}
