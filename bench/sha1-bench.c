/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sha1-bench: SHA-1 throughput of GnuTLS on one core, the ceiling for
 * hashing pieces.  bench/compare runs it to report the machine's limits
 * next to the clients' figures.
 *
 * Usage: sha1-bench [MIB]   hashes MIB MiB (default 1024) in 1 MiB calls,
 * the usual piece size, and prints one line: "sha1 MIB SECONDS MIB_PER_S".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>

#define CHUNK (1024 * 1024)

static double
now_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main (int argc, char **argv)
{
  unsigned char digest[20];
  unsigned char *buf;
  unsigned long mib = 1024;
  double t0, elapsed;

  if (argc > 1)
    {
      char *end = NULL;

      errno = 0;
      mib = strtoul (argv[1], &end, 10);
      if (errno != 0 || end == argv[1] || *end != '\0' || mib == 0)
        {
          fprintf (stderr, "sha1-bench: bad size '%s' (MiB, > 0)\n", argv[1]);
          return 2;
        }
    }

  buf = malloc (CHUNK);
  if (buf == NULL)
    {
      fprintf (stderr, "sha1-bench: out of memory\n");
      return 1;
    }
  /* Not all zeros, so nothing could shortcut the work. */
  for (size_t i = 0; i < CHUNK; i++)
    buf[i] = (unsigned char) (i * 2654435761u >> 13);

  t0 = now_seconds ();
  for (unsigned long i = 0; i < mib; i++)
    {
      buf[0] = (unsigned char) i;
      if (gnutls_hash_fast (GNUTLS_DIG_SHA1, buf, CHUNK, digest) < 0)
        {
          fprintf (stderr, "sha1-bench: gnutls_hash_fast failed\n");
          free (buf);
          return 1;
        }
    }
  elapsed = now_seconds () - t0;
  free (buf);

  printf ("sha1 %lu %.6f %.1f\n", mib, elapsed, elapsed > 0 ? mib / elapsed : 0.0);
  return 0;
}
