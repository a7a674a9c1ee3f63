/*
 * Zeroed memory in an anonymous mapping of its own, aligned to 2 MB and
 * advised for transparent huge pages.
 *
 * Page faults are what made a new backend's first ttsp_predict slow: about
 * 11 us per 4 kB page on a virtual machine (bench/start), so a few hundred
 * kB of weights or one window's input cost milliseconds the first time they
 * were written.  One 2 MB page costs one fault.  The kernel hands the
 * mapping out zeroed, and a page is only faulted in when first touched.
 * For buffers of a few hundred kB or more: each touched 2 MB is resident.
 */
#ifndef TTSP_HUGEMEM_H
#define TTSP_HUGEMEM_H

#include <stddef.h>

typedef struct ttsp_mapping
{
	void	   *map;			/* what mmap gave */
	size_t		len;
} ttsp_mapping;

/* bytes of zeroed memory, 2 MB aligned; NULL (m cleared) when mmap fails */
void	   *ttsp_map_zeroed(size_t bytes, ttsp_mapping *m);

/* Releases what m holds (nothing if it is clear) and clears it. */
void		ttsp_unmap(ttsp_mapping *m);

#endif
