/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary bytes as one UDP packet to the DHT plugin's node (BEP 5 KRPC):
 * queries of every method with good and bad arguments, replies and errors
 * to nothing asked.  The node keeps its routing table and peer store from
 * one input to the next, so bounds on both are exercised too.  Nothing may
 * crash or leak.
 */
#include <stdint.h>

#include "../../plugins/dht/gbt-dht.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gbt_dht_fuzz_packet (data, size);
  return 0;
}
