// Minimal stand-in for librdkafka's internal rdtime.h: rd_clock() in microseconds
// (monotonic), as rdkafka_performance.c uses it (bench only).
#pragma once
#include <time.h>
static inline rd_ts_t rd_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ((rd_ts_t)ts.tv_sec * 1000000LL) + ((rd_ts_t)ts.tv_nsec / 1000);
}
