/*
 * stub_trap(struct sysmsg *msg, const uint64_t sentinels[6]): never returns.
 *
 * Behaves like the entry of a syscall handler: publishes the caller's stack pointer,
 * moves to the private stack Python named in the Msg, loads the sentinels into the
 * callee-saved registers and records them in the ThreadContext that Msg.context points
 * to, marks the Msg as being prepared, then executes FAULT_OPCODE so that the signal
 * handler in stub.c takes over. Every field is reached through the generated offsets.
 */
#include "sysmsg_offsets.h"

	.text
	.globl	stub_trap
	.type	stub_trap, @function
stub_trap:
	/* LINT.IfChange(stub_trap_amd64) */
	movq	%rsp, offsetof_sysmsg_app_stack(%rdi)
	movq	offsetof_sysmsg_syshandler_stack(%rdi), %rsp
	movq	offsetof_sysmsg_context(%rdi), %rax

	/* The sentinels, in the order tests/stub_roundtrip.py lists them. */
	movq	0(%rsi), %rbx
	movq	8(%rsi), %rbp
	movq	16(%rsi), %r12
	movq	24(%rsi), %r13
	movq	32(%rsi), %r14
	movq	40(%rsi), %r15

	movq	%rbx, offsetof_thread_context_ptregs_rbx(%rax)
	movq	%rbp, offsetof_thread_context_ptregs_rbp(%rax)
	movq	%r12, offsetof_thread_context_ptregs_r12(%rax)
	movq	%r13, offsetof_thread_context_ptregs_r13(%rax)
	movq	%r14, offsetof_thread_context_ptregs_r14(%rax)
	movq	%r15, offsetof_thread_context_ptregs_r15(%rax)

	movl	$kTHREAD_STATE_PREP, offsetof_sysmsg_state(%rdi)
	/* LINT.ThenChange(//spec/sysmsg.yaml) */

	.globl	stub_trap_insn
stub_trap_insn:
	.byte	FAULT_OPCODE
	.size	stub_trap, . - stub_trap

/*
 * uint64_t stub_queue_peek(const struct context_queue *queue): the ring entry at start,
 * read through the generated offsets, so that stub.c can check that the assembler's view
 * of the queue matches the C header's.
 */
	.globl	stub_queue_peek
	.type	stub_queue_peek, @function
stub_queue_peek:
	movl	offsetof_context_queue_start(%rdi), %eax
	andl	$(MAX_CONTEXT_QUEUE_ENTRIES - 1), %eax
	movq	offsetof_context_queue_ringbuffer(%rdi,%rax,8), %rax
	ret
	.size	stub_queue_peek, . - stub_queue_peek

	.section .note.GNU-stack, "", @progbits
