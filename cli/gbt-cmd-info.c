/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gbt-cli.h"

int
gbt_cmd_info (int argc, char **argv, GbtCliGlobals *globals)
{
  gbt_cli_error ("'info' is not implemented yet");
  return GBT_EXIT_FAILURE;
}
