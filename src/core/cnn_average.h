/*
 * Model averaging (FedAvg; what MADlib does on Greenplum): nets trained
 * from the same start on disjoint rows are averaged tensor by tensor,
 * weighted by the rows each saw.  Every tensor ttsp_cnn_tensor_get lists
 * is averaged, the BatchNorm running statistics included, so tensors added
 * to the net later are averaged too.
 *
 * The state of one partial training (an aggregate's transition value) has
 * a byte format of its own, version 1, little-endian:
 *	 "TTSPAVG\0"  u32 version  u32 flags (bit 0: optimiser moments follow)
 *	 u64 rows  f64 loss_sum  u64 steps  u64 cnn_len  cnn bytes[cnn_len]
 *	 [u64 n_moments  u32 has_v  f32 m[n_moments]  f32 v[has_v ? n_moments : 0]]
 *	 u64 FNV-1a-64 of all preceding bytes
 * where the cnn bytes are ttsp_cnn_serialize's.  A user can hand any bytes
 * to the SQL functions that read it, so the parser checks every size
 * against the length before it allocates (test/fuzz/fuzz_cnn_average.c).
 */
#ifndef TTSP_CNN_AVERAGE_H
#define TTSP_CNN_AVERAGE_H

#include "cnn.h"

/* One partial training's result: what the aggregate's state holds. */
typedef struct ttsp_avg
{
	ttsp_cnn   *net;			/* owned */
	uint64_t	rows;			/* training rows it saw: its weight */
	double		loss_sum;		/* sum over those rows of their loss */
	uint64_t	steps;			/* optimiser steps behind the moments */
	size_t		n_moments;		/* 0 (none), or the net's parameter count */
	float	   *m;				/* first moment / momentum (malloc'd) */
	float	   *v;				/* Adam's second moment, or NULL */
} ttsp_avg;

/*
 * dst = (rows_dst * dst + rows_src * src) / (rows_dst + rows_src), tensor
 * by tensor (a side with no rows has no weight; both without: dst stays),
 * and the same for the moments and the step count; rows and loss_sum add
 * up.  The nets must have the same tensors (TTSP_EINVAL otherwise), and
 * both or neither have moments.
 */
ttsp_status ttsp_avg_combine(ttsp_avg *dst, const ttsp_avg *src, ttsp_error *err);

/* The optimiser's moments and steps into a (taking them), or a's into opt. */
ttsp_status ttsp_avg_take_moments(ttsp_avg *a, ttsp_optimizer *opt, ttsp_error *err);
ttsp_status ttsp_avg_load_moments(const ttsp_avg *a, ttsp_optimizer *opt, ttsp_error *err);

/* Forget the moments (a round whose optimiser state stays local). */
void		ttsp_avg_drop_moments(ttsp_avg *a);

size_t		ttsp_avg_serialized_size(const ttsp_avg *a);
ttsp_status ttsp_avg_serialize(const ttsp_avg *a, uint8_t *buf, size_t len, ttsp_error *err);

/*
 * Bytes back into *a (fields owned by it).  Truncated, altered or
 * inconsistent bytes are TTSP_ECORRUPT, a later version
 * TTSP_EUNSUPPORTED, never a crash.
 */
ttsp_status ttsp_avg_deserialize(const uint8_t *buf, size_t len, ttsp_avg *a, ttsp_error *err);

/* Free what a owns (safe on a zeroed struct) and zero it. */
void		ttsp_avg_release(ttsp_avg *a);

#endif
