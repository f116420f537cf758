// Minimal stand-ins for librdkafka's internal rd.h, so Debian's rdkafka_performance.c
// example (librdkafka-dev) builds outside the librdkafka source tree (bench only).
#pragma once
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#define rd_snprintf snprintf
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
typedef int64_t rd_ts_t;
