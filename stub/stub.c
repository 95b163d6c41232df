/*
 * The demonstration stub: one thread of a systrap-like stub, driven by the Python
 * round trip (tests/stub_roundtrip.py).
 *
 *   stub REGION_FILE BASE_HEX SENTINEL_HEX...
 *
 * REGION_FILE holds one per-thread region (PER_THREAD_MEM_SIZE bytes), a context queue
 * (its struct, rounded up to whole pages), then one or more ThreadContext allocations
 * (context i at i slots in, as in the runtime's context region); the stub maps it at
 * BASE_HEX, the address Python assumed when it wrote the pointers in the Msg. The stub
 * checks Python's inputs, takes every context Python queued, the way a stub thread does
 * (compare-and-swap on the ring entry, then advance start), marking each one; then it
 * hands the sentinels to the assembly routine, which loads them into callee-saved
 * registers, records them and traps; the signal handler below then fills context 0 (the
 * one Msg.context names) and the Msg and exits. Exit status: 0 done, 2 bad command line
 * or setup, 3 the protocol went wrong (Msg.err and Msg.err_line say where).
 *
 * Only the generated sysmsg.h describes the shared layout here; no offset is typed by
 * hand.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include "sysmsg.h"

/* How many sentinels the assembly routine loads: its callee-saved registers. */
#if defined(__x86_64__)
#define STUB_SENTINELS 6  /* rbx rbp r12 r13 r14 r15 */
#define STUB_TRAP_SIGNAL SIGILL
#elif defined(__aarch64__)
#define STUB_SENTINELS 10  /* x19 .. x28 */
#define STUB_TRAP_SIGNAL SIGTRAP
#endif

/* The file is one thread's region, the context queue, then the contexts (at least one). */
#define STUB_QUEUE_OFFSET PER_THREAD_MEM_SIZE
#define STUB_QUEUE_SPAN ((sizeof(struct context_queue) + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE)
#define STUB_CONTEXTS_OFFSET (STUB_QUEUE_OFFSET + STUB_QUEUE_SPAN)
/* A ring entry's low half: the context id. */
#define STUB_CQ_CONTEXT_MASK ((UINT64_C(1) << CQ_INDEX_SHIFT) - 1)
#define STUB_PRIVATE_STACK_TOP (PER_THREAD_PRIVATE_STACK_OFFSET + PER_THREAD_PRIVATE_STACK_SIZE)

_Static_assert(PER_THREAD_MEM_SIZE % 64 == 0, "the queue and contexts after the region must stay 64-byte aligned");
_Static_assert(_Alignof(struct context_queue) == 64, "each writer group of the queue must start a cache line");
_Static_assert(UINT32_MAX % MAX_CONTEXT_QUEUE_ENTRIES == MAX_CONTEXT_QUEUE_ENTRIES - 1,
               "start and end must wrap onto the same ring slots");
_Static_assert(sizeof(struct thread_context) <= ALLOCATED_SIZEOF_THREAD_CONTEXT_STRUCT,
               "a ThreadContext must fit in its allocation");

enum { EXIT_SETUP = 2, EXIT_PROTOCOL = 3 };

/* Codes for Msg.err; the table below gives each one its text for stderr. */
enum stub_error {
  ERR_NONE,
  ERR_STATE,
  ERR_CONTEXT,
  ERR_STACK,
  ERR_ALTSTACK,
  ERR_SIGNAL,
  ERR_PC,
  ERR_ASM_REGS,
  ERR_QUEUE_INDEX,
  ERR_QUEUE_CONTEXT,
  ERR_QUEUE_RACE,
  ERR_QUEUE_ASM,
};

static const char *const error_text[] = {
    [ERR_NONE] = "no error",
    [ERR_STATE] = "Msg.state is not what the previous step left there",
    [ERR_CONTEXT] = "Msg.context does not point at context 0, past the region and the queue",
    [ERR_STACK] = "Msg.syshandler_stack is not the top of the private stack",
    [ERR_ALTSTACK] = "the signal handler is not running on the region's alternate stack",
    [ERR_SIGNAL] = "a signal other than the planned trap arrived",
    [ERR_PC] = "the trap came from somewhere other than the trap instruction",
    [ERR_ASM_REGS] = "the registers the assembly stored differ from the signal frame",
    [ERR_QUEUE_INDEX] = "the context queue entry at start does not carry start's index",
    [ERR_QUEUE_CONTEXT] = "the context queue names a context outside the region file",
    [ERR_QUEUE_RACE] = "a context queue entry changed under the stub, which runs alone",
    [ERR_QUEUE_ASM] = "the assembly read another ring entry at start than the C code",
};

/* From handler_<arch>.S: loads the sentinels, records them, switches stacks and traps. */
extern void stub_trap(struct sysmsg *msg, const uint64_t *sentinels) __attribute__((noreturn));
extern const char stub_trap_insn[];
/* From handler_<arch>.S: the ring entry at start, read through the generated offsets. */
extern uint64_t stub_queue_peek(const struct context_queue *queue);

static struct sysmsg *stub_msg;
static char *stub_region;
static size_t stub_map_size;  /* the region file's size: the last context ends there */

/* write(2) of a whole string; only async-signal-safe calls, as fail() runs in the handler. */
static void put(const char *text) {
  size_t left = strlen(text);
  while (left > 0) {
    ssize_t done = write(STDERR_FILENO, text, left);
    if (done <= 0) return;
    text += done;
    left -= (size_t)done;
  }
}

static void put_number(unsigned value) {
  char digits[16];
  char *cursor = digits + sizeof(digits) - 1;
  *cursor = '\0';
  do {
    *--cursor = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0 && cursor > digits);
  put(cursor);
}

/* Reports a protocol error through the Msg (for Python) and stderr (for people), then exits. */
static void __attribute__((noreturn)) fail(enum stub_error code, int line) {
  stub_msg->err = code;
  stub_msg->err_line = line;
  put("stub: ");
  put(error_text[code]);
  put(" (stub.c line ");
  put_number((unsigned)line);
  put(")\n");
  _exit(EXIT_PROTOCOL);
}

static void __attribute__((noreturn)) die(const char *what) {
  fprintf(stderr, "stub: %s: %s\n", what, errno != 0 ? strerror(errno) : "unexpected value");
  exit(EXIT_SETUP);
}

static uint64_t parse_hex(const char *text) {
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 16);
  if (errno != 0 || *text == '\0' || *end != '\0') die("not a hex number on the command line");
  return value;
}

/* Maps the file at exactly `base` (Python wrote pointers that assume it) and seals the guards. */
static char *map_region(const char *path, uintptr_t base) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) die(path);
  struct stat info;
  if (fstat(fd, &info) != 0) die("fstat");
  errno = 0;
  size_t contexts = (size_t)info.st_size - STUB_CONTEXTS_OFFSET;
  if (info.st_size <= (off_t)STUB_CONTEXTS_OFFSET || contexts % ALLOCATED_SIZEOF_THREAD_CONTEXT_STRUCT != 0)
    die("the region file is not a region, a queue and whole context slots");
  stub_map_size = (size_t)info.st_size;
  void *map = mmap((void *)base, stub_map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
  if (map == MAP_FAILED) die("mmap");
  errno = 0;
  if (map != (void *)base) die("the region could not be mapped at the requested address");
  close(fd);
  char *region = map;
  /* LINT.IfChange(stub_region) */
  if (mprotect(region, GUARD_SIZE, PROT_NONE) != 0 ||
      mprotect(region + STUB_PRIVATE_STACK_TOP, GUARD_SIZE, PROT_NONE) != 0)
    die("mprotect of a guard page");
  /* LINT.ThenChange(//spec/sysmsg.yaml) */
  return region;
}

/* Python's inputs must make sense before the assembly follows its pointers. */
static void check_inputs(const struct sysmsg *msg, const char *region) {
  const char *context = (const char *)msg->context;
  if (msg->state != THREAD_STATE_INITIALIZING) fail(ERR_STATE, __LINE__);
  if (context != region + STUB_CONTEXTS_OFFSET)
    fail(ERR_CONTEXT, __LINE__);
  if (msg->syshandler_stack != (uintptr_t)(region + STUB_PRIVATE_STACK_TOP)) fail(ERR_STACK, __LINE__);
}

/* Context `id`'s slot in the file, or NULL when the file has no such slot. */
static struct thread_context *context_at(uint64_t id) {
  if (id > MAX_GUEST_CONTEXTS || STUB_CONTEXTS_OFFSET + (id + 1) * ALLOCATED_SIZEOF_THREAD_CONTEXT_STRUCT > stub_map_size)
    return NULL;
  return (struct thread_context *)(stub_region + STUB_CONTEXTS_OFFSET + id * ALLOCATED_SIZEOF_THREAD_CONTEXT_STRUCT);
}

/*
 * Takes every context the runtime queued, as a stub thread does: the entry at start must
 * carry start's index (else it is a stale lap), a compare-and-swap claims it, then start
 * moves on. Each context taken is marked acked, with this thread's id and, in debug, its
 * place in the order taken (from 1). Counts this thread as active, as a new stub does.
 */
static void drain_queue(struct context_queue *queue, const struct sysmsg *msg) {
  uint64_t taken = 0;
  __atomic_add_fetch(&queue->num_active_threads, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&queue->start, __ATOMIC_ACQUIRE) != __atomic_load_n(&queue->end, __ATOMIC_ACQUIRE)) {
    uint32_t index = __atomic_load_n(&queue->start, __ATOMIC_ACQUIRE);
    uint64_t *slot = &queue->ringbuffer[index % MAX_CONTEXT_QUEUE_ENTRIES];
    uint64_t entry = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (entry >> CQ_INDEX_SHIFT != index) fail(ERR_QUEUE_INDEX, __LINE__);
    if (stub_queue_peek(queue) != entry) fail(ERR_QUEUE_ASM, __LINE__);
    if (!__atomic_compare_exchange_n(slot, &entry, INVALID_CONTEXT_ID, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      fail(ERR_QUEUE_RACE, __LINE__);
    __atomic_add_fetch(&queue->start, 1, __ATOMIC_SEQ_CST);
    struct thread_context *ctx = context_at(entry & STUB_CQ_CONTEXT_MASK);
    if (ctx == NULL) fail(ERR_QUEUE_CONTEXT, __LINE__);
    __atomic_store_n(&ctx->acked, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&ctx->thread_id, msg->thread_id, __ATOMIC_RELEASE);
    ctx->debug = ++taken;
  }
}

/* LINT.IfChange(stub_registers) */
#if defined(__x86_64__)
static void frame_registers(struct user_regs_struct *regs, const mcontext_t *frame) {
  const greg_t *g = frame->gregs;
  uint64_t segments = (uint64_t)g[REG_CSGSFS];  /* cs, gs, fs, then ss: 16 bits each */
  memset(regs, 0, sizeof(*regs));
  regs->r15 = g[REG_R15];
  regs->r14 = g[REG_R14];
  regs->r13 = g[REG_R13];
  regs->r12 = g[REG_R12];
  regs->rbp = g[REG_RBP];
  regs->rbx = g[REG_RBX];
  regs->r11 = g[REG_R11];
  regs->r10 = g[REG_R10];
  regs->r9 = g[REG_R9];
  regs->r8 = g[REG_R8];
  regs->rax = g[REG_RAX];
  regs->rcx = g[REG_RCX];
  regs->rdx = g[REG_RDX];
  regs->rsi = g[REG_RSI];
  regs->rdi = g[REG_RDI];
  regs->orig_rax = (uint64_t)-1;  /* a fault, not a system call */
  regs->rip = g[REG_RIP];
  regs->cs = segments & 0xffff;
  regs->eflags = g[REG_EFL];
  regs->rsp = g[REG_RSP];
  regs->gs = (segments >> 16) & 0xffff;
  regs->fs = (segments >> 32) & 0xffff;
}

static uint64_t frame_pc(const mcontext_t *frame) { return (uint64_t)frame->gregs[REG_RIP]; }

/* The callee-saved registers the assembly stored, in its order. */
static int asm_registers_match(const struct user_regs_struct *stored, const struct user_regs_struct *live) {
  return stored->rbx == live->rbx && stored->rbp == live->rbp && stored->r12 == live->r12 &&
         stored->r13 == live->r13 && stored->r14 == live->r14 && stored->r15 == live->r15;
}
#elif defined(__aarch64__)
static void frame_registers(struct user_regs_struct *regs, const mcontext_t *frame) {
  for (size_t i = 0; i < sizeof(regs->regs) / sizeof(regs->regs[0]); i++) regs->regs[i] = frame->regs[i];
  regs->sp = frame->sp;
  regs->pc = frame->pc;
  regs->pstate = frame->pstate;
}

static uint64_t frame_pc(const mcontext_t *frame) { return frame->pc; }

/* x19 .. x28, the callee-saved registers the assembly stored. */
static int asm_registers_match(const struct user_regs_struct *stored, const struct user_regs_struct *live) {
  for (int i = 19; i <= 28; i++)
    if (stored->regs[i] != live->regs[i]) return 0;
  return 1;
}
#endif
/* LINT.ThenChange(//spec/sysmsg.yaml) */

static int on_altstack(const char *address) {
  const char *altstack = stub_region + PER_THREAD_SHARED_STACK_OFFSET;
  return address >= altstack && address < altstack + MSG_OFFSET_FROM_SHARED_STACK;
}

/* Hands the context to the runtime the way a stub thread reports a fault, then exits. */
static void on_signal(int signo, siginfo_t *info, void *ucontext) {
  const ucontext_t *uc = ucontext;
  struct sysmsg *msg = stub_msg;
  struct thread_context *ctx = msg->context;
  struct user_regs_struct live;

  if (!on_altstack(__builtin_frame_address(0))) fail(ERR_ALTSTACK, __LINE__);
  if (signo != STUB_TRAP_SIGNAL) fail(ERR_SIGNAL, __LINE__);
  if (frame_pc(&uc->uc_mcontext) != (uint64_t)(uintptr_t)stub_trap_insn) fail(ERR_PC, __LINE__);
  if (msg->state != THREAD_STATE_PREP) fail(ERR_STATE, __LINE__);
  frame_registers(&live, &uc->uc_mcontext);
  if (!asm_registers_match(&ctx->ptregs, &live)) fail(ERR_ASM_REGS, __LINE__);

  ctx->ptregs = live;
  memcpy(&ctx->siginfo, info, sizeof(ctx->siginfo));
  ctx->signo = signo;
  ctx->state = CONTEXT_STATE_FAULT;
  ctx->last_thread_id = ctx->thread_id;
  ctx->thread_id = msg->thread_id;

  msg->self = msg;
  msg->context = ctx;
  msg->debug = msg->syshandler;
  msg->err = ERR_NONE;
  msg->err_line = 0;
  _exit(0);
}

static void install_handler(char *region) {
  stack_t altstack = {
      .ss_sp = region + PER_THREAD_SHARED_STACK_OFFSET,
      .ss_size = MSG_OFFSET_FROM_SHARED_STACK,
      .ss_flags = 0,
  };
  if (sigaltstack(&altstack, NULL) != 0) die("sigaltstack");

  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&action.sa_mask);
  /* The crash signals too, so that a bad pointer is reported through Msg.err. */
  const int signals[] = {STUB_TRAP_SIGNAL, SIGSEGV, SIGBUS};
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (sigaction(signals[i], &action, NULL) != 0) die("sigaction");
}

int main(int argc, char **argv) {
  if (argc != 3 + STUB_SENTINELS) {
    fprintf(stderr, "usage: %s REGION_FILE BASE_HEX SENTINEL_HEX x%d\n", argv[0], STUB_SENTINELS);
    return EXIT_SETUP;
  }
  uint64_t sentinels[STUB_SENTINELS];
  for (int i = 0; i < STUB_SENTINELS; i++) sentinels[i] = parse_hex(argv[3 + i]);

  stub_region = map_region(argv[1], (uintptr_t)parse_hex(argv[2]));
  stub_msg = (struct sysmsg *)(stub_region + MSG_OFFSET_FROM_START);
  check_inputs(stub_msg, stub_region);
  drain_queue((struct context_queue *)(stub_region + STUB_QUEUE_OFFSET), stub_msg);
  install_handler(stub_region);
  stub_trap(stub_msg, sentinels);
}
