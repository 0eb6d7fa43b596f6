// SPDX-License-Identifier: MIT
/*
 * sync_log - an append-only log through a MAP_SYNC mapping.
 *
 *   sync_log POOL RECORDS
 *
 * Makes a pool at POOL, creates /log of 1 MiB (a hole), maps it with
 * MAP_SHARED_VALIDATE | MAP_SYNC and appends RECORDS 64-byte records: each
 * is stored through the mapping, then made durable with udax_persist alone,
 * no fsync: the block it lands in was allocated and committed by the fault
 * before the page became writable. The record's header (its sequence number)
 * is written last, after the body is persistent, so a reader after a crash
 * takes every record up to the first one without a valid header.
 *
 * MAP_SYNC is granted only where flushed stores persist: real pmem, or any
 * pool while UDAX_FORCE_FLUSH=1 is set (an emulation for tests, which this
 * program sets for its pool when the backing is volatile or page-cached).
 * Build: cc sync_log.c $(pkg-config --cflags --libs udax)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MAP_SHARED_VALIDATE and MAP_SYNC (Linux), setenv, with -std=c11 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <udax.h>

#define LOG_SIZE (1u << 20)

struct record {
	uint64_t seq; /* 1, 2, ...; 0: end of the log */
	char body[56];
};

static int die(const char *what)
{
	fprintf(stderr, "sync_log: %s: %s\n", what, udax_errormsg());
	return 1;
}

static void append(struct record *slot, uint64_t seq)
{
	snprintf(slot->body, sizeof(slot->body), "record %llu", (unsigned long long)seq);
	udax_persist(slot->body, sizeof(slot->body)); /* the body first ... */
	slot->seq = seq;
	udax_persist(&slot->seq, sizeof(slot->seq)); /* ... then the header that validates it */
}

/* Counts the valid records, as recovery would after a crash. */
static uint64_t count(struct udax_file *f)
{
	struct record r;
	uint64_t n = 0;

	while (udax_pread(f, &r, sizeof(r), (off_t)(n * sizeof(r))) == (ssize_t)sizeof(r) &&
	       r.seq == n + 1)
		n++;
	return n;
}

int main(int argc, char **argv)
{
	unsigned long records = argc == 3 ? strtoul(argv[2], NULL, 10) : 0;
	struct udax_file *f;
	struct udax_fs *fs;
	struct record *log;
	void *addr;
	int ret;

	if (argc != 3 || !records || records > LOG_SIZE / sizeof(struct record)) {
		fprintf(stderr, "usage: sync_log POOL RECORDS (1..%zu)\n",
			LOG_SIZE / sizeof(struct record));
		return 2;
	}
	setenv("UDAX_FORCE_FLUSH", "1", 1); /* emulate pmem: MAP_SYNC on any backing */
	if (udax_mkfs(argv[1], 16u << 20, NULL) || udax_mount(argv[1], 0, &fs))
		return die(argv[1]);
	if (udax_open(fs, "/log", O_CREAT | O_RDWR, 0644, &f) || udax_ftruncate(f, LOG_SIZE))
		return die("/log");
	ret = udax_mmap(f, NULL, LOG_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED_VALIDATE | MAP_SYNC, 0, &addr);
	if (ret == -EOPNOTSUPP)
		return die("MAP_SYNC refused");
	if (ret)
		return die("mmap");
	log = addr;
	for (unsigned long i = 0; i < records; i++)
		append(&log[i], i + 1);
	if (udax_munmap(addr, LOG_SIZE))
		return die("munmap");
	printf("%lu records appended with MAP_SYNC, %llu valid on reread\n", records,
	       (unsigned long long)count(f));
	if (udax_close(f) || udax_unmount(fs))
		return die("close");
	return 0;
}
