/*
 * False sharing in the context queue (issue 20): two threads, one per side, hammer the
 * queue's counters, once in the seed's packed layout and once in the layout generated with
 * `cacheline: separate` (sysmsg.h). Built and run by benchmarks/bench_context_queue.py.
 *
 *   bench_context_queue ITERATIONS ROUNDS
 *
 * The runtime thread bumps end and stores num_awake_contexts and fast_path_disabled; the
 * stub thread bumps start and num_active_threads and stores fast_path_failed_in_row: the
 * writes each side makes, ITERATIONS times per round. Rounds alternate between the layouts
 * in a shuffled order, so that drift in the machine's load hits both alike. Prints the best
 * and median nanoseconds per iteration of each layout, and their ratio.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sysmsg.h"

/* The struct as upstream declared it at the seed's revision, by hand: every counter in line 0. */
struct seed_context_queue {
  uint32_t start;
  uint32_t end;
  uint32_t num_active_threads;
  uint32_t num_active_contexts;
  uint32_t num_awake_contexts;
  uint64_t fast_path_disalbed_ts;
  uint32_t fast_path_failed_in_row;
  uint32_t fast_path_disabled;
  uint64_t ringbuffer[MAX_CONTEXT_QUEUE_ENTRIES];
};

_Static_assert(offsetof(struct seed_context_queue, fast_path_disabled) < 64, "the seed packs every counter in one line");
_Static_assert(offsetof(struct context_queue, end) / 64 != offsetof(struct context_queue, start) / 64,
               "the generated layout separates the writers");

enum { LAYOUT_SEED, LAYOUT_SEPARATE, LAYOUTS };
static const char *const layout_name[LAYOUTS] = {"seed (packed)", "generated (separate)"};

/* The counters one round writes, wherever the layout puts them. */
struct counters {
  uint32_t *end, *num_awake_contexts, *fast_path_disabled;         /* the runtime's */
  uint32_t *start, *num_active_threads, *fast_path_failed_in_row;  /* the stubs' */
};

struct side {
  const struct counters *counters;
  long iterations;
  int cpu;  /* -1: leave the thread where the scheduler puts it */
  pthread_barrier_t *go;
};

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *runtime_side(void *arg) {
  const struct side *side = arg;
  const struct counters *c = side->counters;
  pin(side->cpu);
  pthread_barrier_wait(side->go);
  for (long i = 0; i < side->iterations; i++) {
    __atomic_fetch_add(c->end, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(c->num_awake_contexts, (uint32_t)i, __ATOMIC_RELEASE);
    __atomic_store_n(c->fast_path_disabled, (uint32_t)i & 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

static void *stub_side(void *arg) {
  const struct side *side = arg;
  const struct counters *c = side->counters;
  pin(side->cpu);
  pthread_barrier_wait(side->go);
  for (long i = 0; i < side->iterations; i++) {
    __atomic_fetch_add(c->start, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(c->num_active_threads, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(c->fast_path_failed_in_row, (uint32_t)i, __ATOMIC_RELEASE);
  }
  return NULL;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One round: both sides run their loops at once; returns nanoseconds per iteration. */
static double round_ns(const struct counters *counters, long iterations, const int cpus[2]) {
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, 3);
  struct side runtime = {counters, iterations, cpus[0], &go}, stub = {counters, iterations, cpus[1], &go};
  pthread_t threads[2];
  if (pthread_create(&threads[0], NULL, runtime_side, &runtime) != 0 ||
      pthread_create(&threads[1], NULL, stub_side, &stub) != 0) {
    perror("pthread_create");
    exit(2);
  }
  pthread_barrier_wait(&go);
  double start = now_ns();
  pthread_join(threads[0], NULL);
  pthread_join(threads[1], NULL);
  double elapsed = now_ns() - start;
  pthread_barrier_destroy(&go);
  return elapsed / (double)iterations;
}

#define COUNTERS_OF(q)                                                                       \
  ((struct counters){&(q)->end, &(q)->num_awake_contexts, &(q)->fast_path_disabled, &(q)->start, \
                     &(q)->num_active_threads, &(q)->fast_path_failed_in_row})

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The first two CPUs this process may run on, or -1 when there are fewer. */
static int usable_cpus(int cpus[2]) {
  cpu_set_t set;
  cpus[0] = cpus[1] = -1;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  int found = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &set)) {
      if (found < 2) cpus[found] = cpu;
      found++;
    }
  if (found < 2) cpus[0] = cpus[1] = -1;
  return found;
}

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 2000000;
  int rounds = argc > 2 ? atoi(argv[2]) : 9;
  if (iterations <= 0 || rounds <= 0 || rounds > 1000) {
    fprintf(stderr, "usage: %s [ITERATIONS] [ROUNDS <= 1000]\n", argv[0]);
    return 2;
  }
  /* Both queues start on a line boundary, as the runtime maps them (page aligned). */
  void *seed_memory = NULL, *separate_memory = NULL;
  if (posix_memalign(&seed_memory, 64, sizeof(struct seed_context_queue)) != 0 ||
      posix_memalign(&separate_memory, 64, sizeof(struct context_queue)) != 0)
    return 2;
  struct seed_context_queue *seed = seed_memory;
  struct context_queue *separate = separate_memory;
  memset(seed, 0, sizeof(*seed));
  memset(separate, 0, sizeof(*separate));
  const struct counters counters[LAYOUTS] = {COUNTERS_OF(seed), COUNTERS_OF(separate)};

  int cpus[2];
  int usable = usable_cpus(cpus);
  printf("cores online: %ld, usable by this process: %d\n", sysconf(_SC_NPROCESSORS_ONLN), usable);
  if (usable < 2)
    printf("fewer than two cores: both threads share one, so no line moves between caches; "
           "this measures no false sharing\n");
  else
    printf("runtime thread pinned to CPU %d, stub thread to CPU %d\n", cpus[0], cpus[1]);
  printf("%ld iterations per round, %d rounds per layout, shuffled\n", iterations, rounds);

  /* The schedule: each layout `rounds` times, shuffled with a fixed seed (Fisher-Yates). */
  int *order = malloc(sizeof(int) * 2 * (size_t)rounds);
  double *results[LAYOUTS] = {malloc(sizeof(double) * (size_t)rounds), malloc(sizeof(double) * (size_t)rounds)};
  if (order == NULL || results[0] == NULL || results[1] == NULL) return 2;
  for (int i = 0; i < 2 * rounds; i++) order[i] = i % LAYOUTS;
  unsigned seed_state = 20;
  for (int i = 2 * rounds - 1; i > 0; i--) {
    int j = (int)(rand_r(&seed_state) % (unsigned)(i + 1));
    int t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  int done[LAYOUTS] = {0, 0};
  round_ns(&counters[LAYOUT_SEPARATE], iterations / 10 + 1, cpus);  /* warm up: threads, caches, clocks */
  for (int i = 0; i < 2 * rounds; i++) {
    int layout = order[i];
    results[layout][done[layout]++] = round_ns(&counters[layout], iterations, cpus);
  }

  double best[LAYOUTS], median[LAYOUTS];
  for (int layout = 0; layout < LAYOUTS; layout++) {
    qsort(results[layout], (size_t)rounds, sizeof(double), by_value);
    best[layout] = results[layout][0];
    median[layout] = results[layout][rounds / 2];
    printf("%-22s best %8.2f ns/iteration, median %8.2f ns/iteration\n", layout_name[layout], best[layout],
           median[layout]);
  }
  printf("seed / separate: best %.2fx, median %.2fx\n", best[LAYOUT_SEED] / best[LAYOUT_SEPARATE],
         median[LAYOUT_SEED] / median[LAYOUT_SEPARATE]);
  free(order);
  free(results[0]);
  free(results[1]);
  free(seed);
  free(separate);
  return 0;
}
