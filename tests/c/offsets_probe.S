/* Assembled for both arches: the offsets header must be plain #define lines an assembler accepts. */
#include "sysmsg_offsets.h"

	.text
	.globl probe_read_context
probe_read_context:
#if defined(__x86_64__)
	movq offsetof_sysmsg_context(%rdi), %rax
	movq %rbx, offsetof_thread_context_ptregs_rbx(%rax)
	movq %r15, offsetof_thread_context_ptregs_r15(%rax)
	movl $kTHREAD_STATE_PREP, offsetof_sysmsg_state(%rdi)
	movq $MSG_OFFSET_FROM_START, %rcx
	movq $(PER_THREAD_MEM_SIZE - PAGE_SIZE), %rdx
	movq $sizeof_thread_context, %rsi
	shlq $THREAD_CONTEXT_STRUCT_BITSHIFT, %rsi
	ret
#elif defined(__aarch64__)
	ldr x1, [x0, #offsetof_sysmsg_context]
	str x19, [x1, #(offsetof_thread_context_ptregs_regs + 19 * 8)]
	str x29, [x1, #offsetof_thread_context_ptregs_regs + 29 * 8]
	mov w2, #kTHREAD_STATE_PREP
	str w2, [x0, #offsetof_sysmsg_state]
	mov x3, #MSG_OFFSET_FROM_START
	mov x4, #sizeof_thread_context
	ret
#endif
