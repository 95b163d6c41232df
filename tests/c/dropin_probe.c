/*
 * Written by hand against the names in the sysmsg ABI reference, the way upstream's
 * stub code uses its own header: if any name the reference lists is missing from the
 * generated header, or has the wrong type, this file stops compiling.
 */
#include <stddef.h>
#include <string.h>

#include "sysmsg.h"
#include "sysmsg_offsets.h"

static struct sysmsg msg;
static struct thread_context ctx;
static struct arch_state arch;

/* Every field of struct sysmsg, with the type the reference gives. */
static void touch_msg(void) {
  struct sysmsg *self = msg.self;
  uint64_t u64 = msg.ret_addr + msg.syshandler + msg.syshandler_stack + msg.app_stack + msg.debug;
  uint32_t u32 = msg.interrupt + msg.state + msg.thread_id;
  struct thread_context *context = msg.context;
  int32_t i32 = msg.fault_jump + msg.err + msg.err_line;
  (void)self; (void)u64; (void)u32; (void)context; (void)i32;
}

static void touch_context(void) {
  uint8_t *fp = ctx.fpstate;
  uint64_t u64 = ctx.fpstate_changed + ctx.tls + ctx.debug;
  struct user_regs_struct *regs = &ctx.ptregs;
  siginfo_t *info = &ctx.siginfo;
  int64_t signo = ctx.signo;
  uint32_t u32 = ctx.state + ctx.interrupt + ctx.thread_id + ctx.last_thread_id + ctx.sentry_fast_path + ctx.acked;
  (void)fp; (void)u64; (void)regs; (void)info; (void)signo; (void)u32;
  _Static_assert(sizeof(ctx.fpstate) == MAX_FPSTATE_LEN, "fpstate is MAX_FPSTATE_LEN bytes");
}

static void touch_arch(void) {
#if defined(__x86_64__)
  uint32_t mode = arch.xsave_mode + arch.fp_len + arch.fsgsbase;
  int modes[] = {XSAVE_MODE_FXSAVE, XSAVE_MODE_XSAVE, XSAVE_MODE_XSAVEOPT, XSAVE_MODE_XSAVEC};
  unsigned char opcode = FAULT_OPCODE;
  (void)modes; (void)opcode;
#else
  uint32_t mode = arch.fp_len;
#endif
  (void)mode;
}

int thread_states[] = {THREAD_STATE_NONE, THREAD_STATE_DONE, THREAD_STATE_PREP, THREAD_STATE_ASLEEP,
                       THREAD_STATE_INITIALIZING};
int context_states[] = {CONTEXT_STATE_NONE, CONTEXT_STATE_SYSCALL, CONTEXT_STATE_FAULT, CONTEXT_STATE_SYSCALL_TRAP,
                        CONTEXT_STATE_SYSCALL_NEED_TRAP, CONTEXT_STATE_INVALID};
unsigned long constants[] = {MAX_FPSTATE_LEN, ALLOCATED_SIZEOF_THREAD_CONTEXT_STRUCT, THREAD_CONTEXT_STRUCT_BITSHIFT,
                             PAGE_SIZE, PER_THREAD_MEM_SIZE, GUARD_SIZE, MSG_OFFSET_FROM_START,
                             SPINNING_QUEUE_MEM_SIZE, PER_THREAD_PRIVATE_STACK_OFFSET,
                             PER_THREAD_PRIVATE_STACK_SIZE, PER_THREAD_SHARED_STACK_SIZE,
                             PER_THREAD_SHARED_STACK_OFFSET, MSG_OFFSET_FROM_SHARED_STACK};
int asm_enums[] = {kTHREAD_STATE_NONE, kTHREAD_STATE_DONE, kTHREAD_STATE_PREP, kTHREAD_STATE_ASLEEP,
                   kTHREAD_STATE_INITIALIZING, kCONTEXT_STATE_NONE, kCONTEXT_STATE_SYSCALL,
                   kCONTEXT_STATE_FAULT, kCONTEXT_STATE_SYSCALL_TRAP, kCONTEXT_STATE_SYSCALL_NEED_TRAP,
                   kCONTEXT_STATE_INVALID};

/* The offset macros the reference names, checked against the compiler's offsetof. */
_Static_assert(offsetof_sysmsg_self == offsetof(struct sysmsg, self), "self");
_Static_assert(offsetof_sysmsg_ret_addr == offsetof(struct sysmsg, ret_addr), "ret_addr");
_Static_assert(offsetof_sysmsg_syshandler == offsetof(struct sysmsg, syshandler), "syshandler");
_Static_assert(offsetof_sysmsg_syshandler_stack == offsetof(struct sysmsg, syshandler_stack), "syshandler_stack");
_Static_assert(offsetof_sysmsg_app_stack == offsetof(struct sysmsg, app_stack), "app_stack");
_Static_assert(offsetof_sysmsg_interrupt == offsetof(struct sysmsg, interrupt), "interrupt");
_Static_assert(offsetof_sysmsg_state == offsetof(struct sysmsg, state), "state");
_Static_assert(offsetof_sysmsg_context == offsetof(struct sysmsg, context), "context");
_Static_assert(offsetof_sysmsg_fault_jump == offsetof(struct sysmsg, fault_jump), "fault_jump");
_Static_assert(offsetof_sysmsg_err == offsetof(struct sysmsg, err), "err");
_Static_assert(offsetof_sysmsg_err_line == offsetof(struct sysmsg, err_line), "err_line");
_Static_assert(offsetof_sysmsg_debug == offsetof(struct sysmsg, debug), "debug");
_Static_assert(offsetof_sysmsg_thread_id == offsetof(struct sysmsg, thread_id), "thread_id");
_Static_assert(offsetof_thread_context_fpstate == offsetof(struct thread_context, fpstate), "fpstate");
_Static_assert(offsetof_thread_context_fpstate_changed == offsetof(struct thread_context, fpstate_changed), "fpc");
_Static_assert(offsetof_thread_context_ptregs == offsetof(struct thread_context, ptregs), "ptregs");
_Static_assert(offsetof_arch_state_fp_len == offsetof(struct arch_state, fp_len), "fp_len");
_Static_assert(sizeof(struct sysmsg) == 88, "the reference gives 88 bytes");
#if defined(__x86_64__)
_Static_assert(offsetof_thread_context_ptregs_r15 == offsetof(struct thread_context, ptregs.r15), "r15");
_Static_assert(offsetof_thread_context_ptregs_rip == offsetof(struct thread_context, ptregs.rip), "rip");
_Static_assert(offsetof_thread_context_ptregs_gs == offsetof(struct thread_context, ptregs.gs), "gs");
_Static_assert(offsetof_thread_context_ptregs_orig_rax == offsetof(struct thread_context, ptregs.orig_rax), "orig_rax");
_Static_assert(offsetof_arch_state_xsave_mode == offsetof(struct arch_state, xsave_mode), "xsave_mode");
_Static_assert(offsetof_arch_state_fsgsbase == offsetof(struct arch_state, fsgsbase), "fsgsbase");
_Static_assert(sizeof(struct thread_context) == 3984, "the issue gives 3984 bytes on amd64");
#else
_Static_assert(offsetof_thread_context_ptregs_regs == offsetof(struct thread_context, ptregs.regs), "regs");
_Static_assert(offsetof_thread_context_ptregs_pc == offsetof(struct thread_context, ptregs.pc), "pc");
_Static_assert(sizeof(struct thread_context) == 4040, "the issue gives 4040 bytes on arm64");
#endif

int main(void) {
  memset(&msg, 0, sizeof(msg));
  touch_msg();
  touch_context();
  touch_arch();
  return 0;
}
