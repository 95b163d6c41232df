/* Hand-written assembly that reads the message page through the offsets header. */
#include "sysmsg_hand_offsets.h"

	.text
	.globl sysmsg_is_prep
sysmsg_is_prep:
	xorl %eax, %eax
	cmpl $kTHREAD_STATE_PREP, offsetof_sysmsg_state(%rdi)
	sete %al
	ret
	.section .note.GNU-stack,"",@progbits
