/* A hand-kept header shaped like gVisor's systrap sysmsg.h, the way upstream keeps it: the
 * message page, the per-context register state with system types, enums and #define'd
 * constants. tests/test_import.py imports it and proves the spec against spec/sysmsg.yaml. */
#ifndef HAND_SYSMSG_H_
#define HAND_SYSMSG_H_

#include <stdint.h>
#include <signal.h>
#include <sys/user.h>

#define SYSMSG_PAGE_SIZE 4096
#define SYSMSG_PER_THREAD_MEM_SIZE (8 * SYSMSG_PAGE_SIZE)
#define SYSMSG_MAX_FPSTATE_LEN 3584
#define SYSMSG_ALLOCATED_SIZEOF_THREAD_CONTEXT_STRUCT 4096
#if defined(__x86_64__)
#define SYSMSG_FAULT_OPCODE 0x06
#endif

enum thread_state {
  THREAD_STATE_NONE,
  THREAD_STATE_DONE,
  THREAD_STATE_PREP,
  THREAD_STATE_ASLEEP,
  THREAD_STATE_INITIALIZING,
};

enum context_state {
  CONTEXT_STATE_NONE,
  CONTEXT_STATE_SYSCALL,
  CONTEXT_STATE_FAULT,
  CONTEXT_STATE_SYSCALL_TRAP,
  CONTEXT_STATE_SYSCALL_NEED_TRAP,
  CONTEXT_STATE_INVALID,
};

struct thread_context;

struct sysmsg {
  struct sysmsg *self;
  uint64_t ret_addr;
  uint64_t syshandler;
  uint64_t syshandler_stack;
  uint64_t app_stack;
  uint32_t interrupt;
  uint32_t state;  /* enum thread_state */
  struct thread_context *context;
  int32_t fault_jump;
  int32_t err;
  int32_t err_line;
  uint64_t debug;
  uint32_t thread_id;
};

struct thread_context {
  uint8_t fpstate[SYSMSG_MAX_FPSTATE_LEN];
  uint64_t fpstate_changed;
  struct user_regs_struct ptregs;
  siginfo_t siginfo;
  int64_t signo;
  uint32_t state;  /* enum context_state */
  uint32_t interrupt;
  uint32_t thread_id;
  uint32_t last_thread_id;
  uint32_t sentry_fast_path;
  uint32_t acked;
  uint64_t tls;
  uint64_t debug;
};

#endif /* HAND_SYSMSG_H_ */
