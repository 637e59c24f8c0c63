/* Test-and-test-and-set lock; the smp guest serializes COM1 with it. */
#ifndef SPINLOCK_H
#define SPINLOCK_H

#include <stdint.h>

#include "cpu.h"

struct spinlock {
	uint32_t locked;
};

static inline void spinlock_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_pause();
	}
}

static inline void spinlock_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
