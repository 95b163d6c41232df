/*
 * stub_trap(struct sysmsg *msg, const uint64_t sentinels[10]): never returns.
 *
 * Behaves like the entry of a syscall handler: publishes the caller's stack pointer,
 * moves to the private stack Python named in the Msg, loads the sentinels into the
 * callee-saved registers x19..x28 and records them in the ThreadContext that
 * Msg.context points to, marks the Msg as being prepared, then hits a breakpoint so
 * that the signal handler in stub.c takes over. Every field is reached through the
 * generated offsets.
 */
#include "sysmsg_offsets.h"

	.text
	.globl	stub_trap
	.type	stub_trap, %function
stub_trap:
	/* LINT.IfChange(stub_trap_arm64) */
	mov	x9, sp
	str	x9, [x0, #offsetof_sysmsg_app_stack]
	ldr	x9, [x0, #offsetof_sysmsg_syshandler_stack]
	mov	sp, x9
	ldr	x10, [x0, #offsetof_sysmsg_context]

	/* The sentinels, in the order tests/stub_roundtrip.py lists them: x19 first. */
	.irp	n, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28
	ldr	x\n, [x1, #(8 * (\n - 19))]
	.endr

	/* ptregs.regs is an array: element n sits 8 * n bytes past its start. */
	mov	x11, #offsetof_thread_context_ptregs_regs
	add	x11, x10, x11
	.irp	n, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28
	str	x\n, [x11, #(8 * \n)]
	.endr

	mov	w12, #kTHREAD_STATE_PREP
	str	w12, [x0, #offsetof_sysmsg_state]
	/* LINT.ThenChange(//spec/sysmsg.yaml) */

	.globl	stub_trap_insn
stub_trap_insn:
	brk	#0
	.size	stub_trap, . - stub_trap

/*
 * uint64_t stub_queue_peek(const struct context_queue *queue): the ring entry at start,
 * read through the generated offsets, so that stub.c can check that the assembler's view
 * of the queue matches the C header's.
 */
	.globl	stub_queue_peek
	.type	stub_queue_peek, %function
stub_queue_peek:
	ldr	w1, [x0, #offsetof_context_queue_start]
	and	w1, w1, #(MAX_CONTEXT_QUEUE_ENTRIES - 1)
	add	x2, x0, #offsetof_context_queue_ringbuffer
	ldr	x0, [x2, x1, lsl #3]
	ret
	.size	stub_queue_peek, . - stub_queue_peek

	.section .note.GNU-stack, "", %progbits
