// SPDX-License-Identifier: MIT
/*
 * A small libpmemobj client for test_clients.sh: transactions on a pool file
 * (a udax file through the shim, or a tmpfs file), killed with SIGKILL at
 * chosen or random points, then reopened and checked.
 *
 * The pool's root holds a counter of committed transactions and a singly
 * linked list of nodes with its length and the sum of the nodes' values.
 * Every transaction bumps the counter and inserts, removes or changes a node,
 * so after any crash the root must agree with the list it heads, every node
 * must carry the complement of its value, and the pool must hold exactly as
 * many node objects as the list (a rolled-back allocation leaks none).
 *
 *   pmemobj_tx create POOL
 *   pmemobj_tx run POOL SEED NTX [kill]   NTX transactions; with "kill", SIGKILL
 *                                         inside a transaction the seed chooses
 *                                         (printed first as "kill at tx K step S")
 *   pmemobj_tx loop POOL SEED             prints "ready", then transactions until killed
 *   pmemobj_tx check POOL                 prints "counter C nodes N sum S"
 * Exit 0: done and consistent; 1: inconsistent or an error (printed).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpmemobj.h>

#define LAYOUT	   "udax-pmemobj-tx"
#define POOL_SIZE  (16u << 20)
#define NODE_TYPE  1
#define MAX_STEPS  3
#define LOOP_LIMIT 10000000u

struct node {
	uint64_t value;
	uint64_t check; /* ~value */
	PMEMoid next;
};

struct root {
	uint64_t counter;
	uint64_t nodes;
	uint64_t sum;
	PMEMoid head;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic for a seed, so udax and tmpfs runs agree */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void die(const char *what)
{
	fprintf(stderr, "pmemobj_tx: %s: %s\n", what, pmemobj_errormsg());
	exit(1);
}

/* Kill point: the process dies here when this is the chosen transaction and step. */
static uint64_t kill_tx = UINT64_MAX, kill_step, cur_tx, cur_step;

static void kill_point(void)
{
	if (cur_tx == kill_tx && cur_step == kill_step)
		kill(getpid(), SIGKILL);
	cur_step++;
}

static struct root *root_of(PMEMobjpool *pop)
{
	PMEMoid r = pmemobj_root(pop, sizeof(struct root));

	if (OID_IS_NULL(r))
		die("pmemobj_root");
	return pmemobj_direct(r);
}

static void insert_node(struct root *rt)
{
	PMEMoid oid = pmemobj_tx_alloc(sizeof(struct node), NODE_TYPE);
	struct node *n = pmemobj_direct(oid);

	n->value = rng() >> 20;
	n->check = ~n->value;
	n->next = rt->head;
	kill_point();
	rt->head = oid;
	rt->nodes++;
	rt->sum += n->value;
}

static void remove_head(struct root *rt)
{
	struct node *n = pmemobj_direct(rt->head);
	PMEMoid old = rt->head;

	rt->sum -= n->value;
	rt->nodes--;
	rt->head = n->next;
	kill_point();
	pmemobj_tx_free(old);
}

static void change_node(struct root *rt)
{
	uint64_t pos = rng() % rt->nodes;
	PMEMoid oid = rt->head;
	struct node *n;

	while (pos--)
		oid = ((struct node *)pmemobj_direct(oid))->next;
	n = pmemobj_direct(oid);
	pmemobj_tx_add_range(oid, 0, sizeof(*n));
	rt->sum -= n->value;
	n->value = rng() >> 20;
	kill_point();
	n->check = ~n->value;
	rt->sum += n->value;
}

/* One transaction: the counter and one list operation chosen by the generator. */
static void one_tx(PMEMobjpool *pop, struct root *rt)
{
	int op = (int)(rng() % 4);

	cur_step = 0;
	TX_BEGIN(pop)
	{
		pmemobj_tx_add_range_direct(rt, sizeof(*rt));
		rt->counter++;
		kill_point();
		if (op < 2 || !rt->nodes)
			insert_node(rt);
		else if (op == 2)
			remove_head(rt);
		else
			change_node(rt);
		kill_point();
	}
	TX_ONABORT
	{
		die("transaction aborted");
	}
	TX_END
	cur_tx++;
}

/* Checks the invariant; prints the state and returns 0, or prints what is wrong and returns 1. */
static int check_pool(PMEMobjpool *pop)
{
	struct root *rt = root_of(pop);
	uint64_t count = 0, sum = 0, objects = 0;
	PMEMoid oid;

	for (oid = rt->head; !OID_IS_NULL(oid) && count <= rt->nodes; count++) {
		struct node *n = pmemobj_direct(oid);

		if (pmemobj_type_num(oid) != NODE_TYPE || n->check != ~n->value) {
			fprintf(stderr, "pmemobj_tx: node %" PRIu64 " is corrupt\n", count);
			return 1;
		}
		sum += n->value;
		oid = n->next;
	}
	POBJ_FOREACH(pop, oid)
	{
		if (pmemobj_type_num(oid) == NODE_TYPE)
			objects++;
	}
	if (count != rt->nodes || sum != rt->sum || objects != rt->nodes) {
		fprintf(stderr,
			"pmemobj_tx: inconsistent: root says %" PRIu64 " nodes sum %" PRIu64
			", list has %" PRIu64 " sum %" PRIu64 ", pool has %" PRIu64 " nodes\n",
			rt->nodes, rt->sum, count, sum, objects);
		return 1;
	}
	printf("counter %" PRIu64 " nodes %" PRIu64 " sum %" PRIu64 "\n", rt->counter, rt->nodes,
	       rt->sum);
	fflush(stdout);
	return 0;
}

static PMEMobjpool *open_pool(const char *path)
{
	PMEMobjpool *pop = pmemobj_open(path, LAYOUT);

	if (!pop)
		die(path);
	return pop;
}

/*
 * Given a size, pmemobj_create makes the file with mode 0 and chmods it at the
 * end, which udaxfs cannot do (modes are fixed at creation): the pool goes
 * into a file made here with its final mode.
 */
static int create_pool(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	PMEMobjpool *pop;
	int err;

	if (fd < 0) {
		fprintf(stderr, "pmemobj_tx: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	err = posix_fallocate(fd, 0, POOL_SIZE);
	close(fd);
	if (err) {
		fprintf(stderr, "pmemobj_tx: posix_fallocate %s: %s\n", path, strerror(err));
		return 1;
	}
	pop = pmemobj_create(path, LAYOUT, 0, 0600);
	if (!pop)
		die(path);
	root_of(pop);
	pmemobj_close(pop);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: pmemobj_tx create|run|loop|check POOL [SEED [NTX [kill]]]\n");
	return 2;
}

int main(int argc, char **argv)
{
	PMEMobjpool *pop;
	uint64_t ntx = LOOP_LIMIT;
	struct root *rt;
	int ret;

	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "create"))
		return create_pool(argv[2]);
	pop = open_pool(argv[2]);
	if (!strcmp(argv[1], "check")) {
		ret = check_pool(pop);
		pmemobj_close(pop);
		return ret;
	}
	if (argc < 4 || (strcmp(argv[1], "run") && strcmp(argv[1], "loop")))
		return usage();
	rng_state = strtoull(argv[3], NULL, 0) | 1;
	if (!strcmp(argv[1], "run")) {
		if (argc < 5)
			return usage();
		ntx = strtoull(argv[4], NULL, 0);
		if (argc > 5 && !strcmp(argv[5], "kill") && ntx) {
			kill_tx = rng() % ntx;
			kill_step = rng() % MAX_STEPS;
			printf("kill at tx %" PRIu64 " step %" PRIu64 "\n", kill_tx, kill_step);
		}
	} else {
		printf("ready\n");
	}
	fflush(stdout);
	rt = root_of(pop);
	while (cur_tx < ntx)
		one_tx(pop, rt);
	ret = check_pool(pop);
	pmemobj_close(pop);
	return ret;
}
