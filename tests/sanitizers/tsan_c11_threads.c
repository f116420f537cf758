/* TSan builds only: C11 threads over pthreads, linked into every executable.
 *
 * librdkafka (Debian) starts its threads with C11 thrd_create and locks with
 * mtx_lock/cnd_wait. glibc implements those by calling its internal pthread
 * functions directly, which GCC 12's TSan runtime does not intercept: a
 * librdkafka thread then runs without TSan's thread state and crashes inside
 * the runtime on its first malloc (persistence.relay died with SIGSEGV in
 * getaddrinfo on an rdk:broker thread), and its locking is invisible to TSan.
 * These definitions in the executable take precedence over glibc's for the
 * shared libraries and forward to the pthread functions TSan intercepts.
 * (LLVM 15 and GCC 13 intercept thrd_create themselves.) */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

static int c11_result(int rc) {
  if (rc == 0) return thrd_success;
  if (rc == ENOMEM) return thrd_nomem;
  if (rc == EBUSY) return thrd_busy;
  if (rc == ETIMEDOUT) return thrd_timedout;
  return thrd_error;
}

struct c11_start {
  thrd_start_t fn;
  void* arg;
};

static void* c11_trampoline(void* p) {
  struct c11_start s = *(struct c11_start*)p;
  free(p);
  return (void*)(intptr_t)s.fn(s.arg);
}

int thrd_create(thrd_t* thr, thrd_start_t fn, void* arg) {
  struct c11_start* s = malloc(sizeof *s);
  if (!s) return thrd_nomem;
  s->fn = fn;
  s->arg = arg;
  int rc = pthread_create((pthread_t*)thr, NULL, c11_trampoline, s);
  if (rc != 0) free(s);
  return c11_result(rc);
}

int thrd_join(thrd_t thr, int* res) {
  void* r = NULL;
  int rc = pthread_join((pthread_t)thr, &r);
  if (rc == 0 && res) *res = (int)(intptr_t)r;
  return c11_result(rc);
}

int thrd_detach(thrd_t thr) { return c11_result(pthread_detach((pthread_t)thr)); }

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  if (type & mtx_recursive) pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  int rc = pthread_mutex_init((pthread_mutex_t*)m, &a);
  pthread_mutexattr_destroy(&a);
  return c11_result(rc);
}
int mtx_lock(mtx_t* m) { return c11_result(pthread_mutex_lock((pthread_mutex_t*)m)); }
int mtx_trylock(mtx_t* m) { return c11_result(pthread_mutex_trylock((pthread_mutex_t*)m)); }
int mtx_timedlock(mtx_t* restrict m, const struct timespec* restrict t) {
  return c11_result(pthread_mutex_timedlock((pthread_mutex_t*)m, t));
}
int mtx_unlock(mtx_t* m) { return c11_result(pthread_mutex_unlock((pthread_mutex_t*)m)); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy((pthread_mutex_t*)m); }

int cnd_init(cnd_t* c) { return c11_result(pthread_cond_init((pthread_cond_t*)c, NULL)); }
int cnd_signal(cnd_t* c) { return c11_result(pthread_cond_signal((pthread_cond_t*)c)); }
int cnd_broadcast(cnd_t* c) { return c11_result(pthread_cond_broadcast((pthread_cond_t*)c)); }
int cnd_wait(cnd_t* c, mtx_t* m) {
  return c11_result(pthread_cond_wait((pthread_cond_t*)c, (pthread_mutex_t*)m));
}
int cnd_timedwait(cnd_t* restrict c, mtx_t* restrict m, const struct timespec* restrict t) {
  return c11_result(pthread_cond_timedwait((pthread_cond_t*)c, (pthread_mutex_t*)m, t));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy((pthread_cond_t*)c); }

void call_once(once_flag* flag, void (*fn)(void)) { pthread_once((pthread_once_t*)flag, fn); }
