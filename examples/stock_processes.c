/* SPDX-License-Identifier: MIT */
/*
 * stock_processes.c - four processes sell from one stock kept in shared
 * memory, under a robust process-shared mutex; one of them dies in the
 * middle of a sale, holding the lock.
 *
 * The shop (stock count, and a ledger of what each seller sold) lives in an
 * anonymous MAP_SHARED mapping that the forked sellers inherit.  Its lock is
 * a weft_robust_mutex_t initialized with WEFT_PSHARED: usable between
 * processes, and robust, so that when a holder dies (here: _exit() with the
 * lock held, half-way through a sale), the kernel hands the lock to the next
 * locker with WEFT_EOWNERDEAD instead of leaving everyone asleep for ever.
 * That process repairs the shop (recounts the stock from the ledger), calls
 * weft_robust_mutex_consistent(), and selling goes on.  A plain
 * weft_mutex_t with WEFT_PSHARED would serve as well if no process could die
 * while holding it; the race lab (docs/races.md, R3 and R4) shows the same
 * shop without a lock, and what it oversells.
 *
 * Build: cc -std=gnu11 stock_processes.c -lweft -pthread   (fork, mmap: POSIX)
 */
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <weft/weft.h>

#define SELLERS 4
#define STOCK 10000
#define CRASHER 2          /* this seller dies ... */
#define CRASH_AFTER 100    /* ... in the middle of its 101st sale */

struct shop {
	weft_sem_t gate;          /* the sellers start together when it opens */
	weft_robust_mutex_t lock; /* guards everything below */
	long stock;               /* items left */
	long sold[SELLERS];       /* the ledger: items each seller sold */
	long repairs;             /* how many times a dead holder's mess was cleaned */
};

/* After a death: the dead seller may have taken an item from the stock
 * without writing it in the ledger.  The ledger is the truth. */
static void repair(struct shop *shop)
{
	long sold = 0;
	for (int i = 0; i < SELLERS; i++)
		sold += shop->sold[i];
	shop->stock = STOCK - sold;
	shop->repairs++;
}

/* Lock the shop; repair it first if the last holder died holding the lock.
 * Returns 0 with the lock held, -1 if the lock is unusable. */
static int lock_shop(struct shop *shop)
{
	int rc = weft_robust_mutex_lock(&shop->lock);
	if (rc == WEFT_EOWNERDEAD) {
		/* We hold the lock, and the data may be half-updated. */
		repair(shop);
		if (weft_robust_mutex_consistent(&shop->lock) != WEFT_OK)
			return -1;
		rc = WEFT_OK;
	}
	return rc == WEFT_OK ? 0 : -1; /* WEFT_ENOTRECOVERABLE: someone gave up */
}

static int seller(struct shop *shop, int me)
{
	weft_sem_wait(&shop->gate);
	for (long n = 0;; n++) {
		if (lock_shop(shop) != 0)
			return 1;
		if (shop->stock == 0) {
			(void)!weft_robust_mutex_unlock(&shop->lock);
			return 0;
		}
		shop->stock--; /* the item leaves the shelf ... */
		if (me == CRASHER && n == CRASH_AFTER)
			_exit(3); /* ... and the seller dies before writing the sale down */
		shop->sold[me]++;
		(void)!weft_robust_mutex_unlock(&shop->lock);
		sched_yield(); /* serve the next customer: let the other sellers in */
	}
}

int main(void)
{
	/* Memory every forked seller shares. */
	struct shop *shop = mmap(NULL, sizeof(*shop), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shop == MAP_FAILED)
		return 1;
	/* WEFT_PSHARED: the lock works across processes (the robust mutex is
	 * robust whatever the flags; WEFT_PSHARED is what allows several processes). */
	int rc = weft_robust_mutex_init(&shop->lock, WEFT_PSHARED);
	if (rc != WEFT_OK) {
		fprintf(stderr, "stock_processes: robust mutex: %s\n", weft_strerror(rc));
		return rc == WEFT_ENOTSUP ? 0 : 1; /* not Linux/glibc: nothing to show */
	}
	shop->stock = STOCK;
	if (weft_sem_init(&shop->gate, 0, WEFT_PSHARED) != WEFT_OK)
		return 1;

	pid_t pids[SELLERS];
	for (int i = 0; i < SELLERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 1;
		if (pids[i] == 0)
			_exit(seller(shop, i));
	}
	if (weft_sem_post_n(&shop->gate, SELLERS) != WEFT_OK) /* open the shop */
		return 1;
	int crashed = 0, failed = 0;
	for (int i = 0; i < SELLERS; i++) {
		int status;
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status))
			failed++;
		else if (WEXITSTATUS(status) == 3)
			crashed++;
		else if (WEXITSTATUS(status) != 0)
			failed++;
	}

	/* The sellers are gone; waitpid() ordered their writes before ours. */
	long sold = 0;
	for (int i = 0; i < SELLERS; i++) {
		printf("seller %d sold %ld%s\n", i, shop->sold[i], i == CRASHER ? " (then died holding the lock)" : "");
		sold += shop->sold[i];
	}
	printf("stock_processes: %ld sold + %ld left = %d; %ld repair(s) after %d death(s)\n", sold, shop->stock,
	       STOCK, shop->repairs, crashed);
	if (crashed == 0) /* possible in principle: the others sold out first */
		printf("stock_processes: seller %d never reached its fatal sale\n", CRASHER);
	/* Whether or not the crash happened, nothing was lost or sold twice. */
	int ok = failed == 0 && shop->repairs == crashed && shop->stock == 0 && sold == STOCK;
	weft_robust_mutex_destroy(&shop->lock);
	munmap(shop, sizeof(*shop));
	return ok ? 0 : 1;
}
