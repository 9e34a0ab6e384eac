/* The guest's vDSO and its data page. One `struct vdso` per sandbox owns the vvar page in the
 * memory file (which every address space maps read-only, so one write by the sentry reaches
 * every guest) and the TSC calibration behind it, refreshed every VDSO_REFRESH_NS by a kernel
 * timer so the guest's clocks stay within a microsecond or so of the host's. The vDSO image
 * itself is built from arch/<arch>/vdso/ and linked in as bytes.
 *
 * Locking: vdso.lock protects the timekeeper and is the only writer of the vvar page; it is a
 * leaf (nothing else is taken under it but the timer service's, which ktimer.h allows). */
#ifndef RUNSC_SENTRY_VDSO_VDSO_H
#define RUNSC_SENTRY_VDSO_VDSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct memfile;
struct mm;
struct vvar_data;

/* How often the sentry recalibrates: the error it lets build up is about the TSC rate's
 * drift relative to the host clock over this long. */
#define VDSO_REFRESH_NS 1000000000LL
/* The first refresh comes this soon after the 2 ms calibration, and each next one four times
 * later up to VDSO_REFRESH_NS: the rate's error shrinks as its baseline grows, so the error
 * built up between refreshes stays well under a microsecond from the start. */
#define VDSO_FIRST_REFRESH_NS 10000000LL

struct vdso;

/* Allocates the vvar page from `mf`, calibrates the TSC against the host's clocks (a few
 * milliseconds) and starts the refresh timer. With `use_tsc` false, or a TSC that is not
 * invariant, the vDSO answers every call with the real syscall. Returns 0, -ENOMEM, or the
 * timer service's error. */
int vdso_create(struct memfile *mf, bool use_tsc, struct vdso **out);
/* Drops the creator's reference: the refresh stops, and the object goes with the last address
 * space that maps it. */
void vdso_destroy(struct vdso *v);

/* Maps the vvar page and, right above it, the vDSO image into `mm` where mmap(NULL) would put
 * them, and stores the image's address (AT_SYSINFO_EHDR) in *base. 0 or what mm_map returns. */
int vdso_map(struct vdso *v, struct mm *mm, uint64_t *base);

/* Whether the vDSO tells time from the TSC (false: it makes the syscall). */
bool vdso_uses_tsc(struct vdso *v);
/* Recalibrates now (the refresh timer does this every VDSO_REFRESH_NS). */
void vdso_refresh(struct vdso *v);
/* The sentry's view of the vvar page, for tests. */
const struct vvar_data *vdso_vvar(struct vdso *v);

/* The image's bytes (generated from the built shared object). */
extern const unsigned char vdso_image[];
extern const size_t vdso_image_size;

#endif
