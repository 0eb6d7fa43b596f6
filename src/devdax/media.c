// SPDX-License-Identifier: MIT
/*
 * The backing of a device-DAX region: a real /dev/daxX.Y, whose size and
 * alignment the kernel fixes (sysfs, read by the media layer), or any file
 * the media layer can open, emulating one with the alignment asked for.
 */
#include <fcntl.h>
#include <string.h>

#include "common/err.h"
#include "devdax/media.h"

static bool valid_align(uint64_t a)
{
	return a == DEVDAX_4K || a == DEVDAX_2M || a == DEVDAX_1G;
}

uint64_t devdax_page_size(const struct pmem *pm, uint64_t align)
{
	const struct pmem_info *in = pmem_get_info(pm);
	uint64_t page = DEVDAX_4K;

	if (in->align > DEVDAX_4K) /* devdax or hugetlb: the kernel maps its own page size */
		return in->align < align ? in->align : align;
	if (in->pmd_capable && align >= DEVDAX_2M)
		page = DEVDAX_2M;
	if (in->pud_capable && align >= DEVDAX_1G)
		page = DEVDAX_1G;
	return page;
}

/* The region's place in @in: offset aligned and inside, capacity rounded down to @a. */
static int place_region(const char *path, const struct pmem_info *in,
			const struct devdax_media_opts *o, uint64_t a, struct devdax_media *m)
{
	if (o->offset % a || o->offset >= in->size)
		return udax_err(EINVAL,
				"%s: region offset %llu is not a multiple of %llu inside the %llu "
				"bytes of backing",
				path, (unsigned long long)o->offset, (unsigned long long)a,
				(unsigned long long)in->size);
	m->align = a;
	m->base = o->offset;
	m->capacity = in->size - o->offset;
	if (o->limit && o->limit < m->capacity)
		m->capacity = o->limit;
	m->capacity -= m->capacity % a;
	m->size = o->size ? o->size : m->capacity;
	if (!m->size || m->size % a)
		return udax_err(EINVAL, "%s: region size %llu is not a positive multiple of %llu",
				path, (unsigned long long)m->size, (unsigned long long)a);
	if (m->size > m->capacity)
		return udax_err(EINVAL, "%s: region size %llu exceeds the %llu bytes of backing",
				path, (unsigned long long)m->size, (unsigned long long)m->capacity);
	return 0;
}

/*
 * A real device: its own alignment; the whole device unless a part of it
 * was asked for (an offset or a limit, as for a pool's raw region).
 */
static int check_real(const char *path, const struct pmem_info *in,
		      const struct devdax_media_opts *o, struct devdax_media *m)
{
	if (o->align && o->align != in->align)
		return udax_err(EINVAL,
				"%s: the device's alignment is %llu, not %llu (daxctl sets it)",
				path, (unsigned long long)in->align, (unsigned long long)o->align);
	if (!o->offset && !o->limit && o->size && o->size != in->size)
		return udax_err(EINVAL,
				"%s: the device holds %llu bytes, not %llu (daxctl sets it)", path,
				(unsigned long long)in->size, (unsigned long long)o->size);
	m->real = true;
	return place_region(path, in, o, in->align, m);
}

static int check_emulated(const char *path, const struct pmem_info *in,
			  const struct devdax_media_opts *o, struct devdax_media *m)
{
	uint64_t a = o->align ? o->align : DEVDAX_2M;

	if (!valid_align(a))
		return udax_err(EINVAL, "%s: alignment %llu: must be 4 KiB, 2 MiB or 1 GiB", path,
				(unsigned long long)a);
	if (a < in->align)
		return udax_err(
			EINVAL, "%s: hugetlbfs with %llu KiB pages cannot map %llu KiB units", path,
			(unsigned long long)(in->align >> 10), (unsigned long long)(a >> 10));
	return place_region(path, in, o, a, m);
}

int devdax_media_open(const char *path, const struct devdax_media_opts *o, struct devdax_media *m)
{
	int pflags = (o->flags & DEVDAX_M_CREATE ? PMEM_O_CREATE : 0) |
		     (o->flags & DEVDAX_M_RDONLY ? PMEM_O_RDONLY : 0);
	const struct pmem_info *in;
	int ret;

	if (o->flags & ~DEVDAX_M_ALL)
		return udax_err(EINVAL, "%s: unknown flags 0x%x", path, o->flags);
	memset(m, 0, sizeof(*m));
	ret = pmem_open(path, pflags, o->capacity, &m->pm);
	if (ret)
		return ret;
	in = pmem_get_info(m->pm);
	if (in->kind == PMEM_KIND_DEVDAX)
		ret = check_real(path, in, o, m);
	else
		ret = check_emulated(path, in, o, m);
	if (!ret) {
		m->page_size = devdax_page_size(m->pm, m->align);
		if ((o->flags & DEVDAX_M_EXACT_PAGES) && m->page_size < m->align)
			ret = udax_err(EOPNOTSUPP,
				       "%s: a %s backing is mapped with %llu KiB pages, not the "
				       "%llu KiB of the alignment",
				       path, pmem_kind_name(in->kind),
				       (unsigned long long)(m->page_size >> 10),
				       (unsigned long long)(m->align >> 10));
	}
	if (ret) {
		pmem_close(m->pm);
		m->pm = NULL;
	}
	return ret;
}

void devdax_media_release(struct pmem *pm, uint64_t off, uint64_t len)
{
	if (pmem_get_info(pm)->kind != PMEM_KIND_DEVDAX && len)
		fallocate(pmem_fd(pm), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			  (off_t)len);
}
