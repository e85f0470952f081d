/* text.h - the report a mail administrator reads: the verdict in words,
 * then every MX host, every address and every finding, one line each.
 */
#ifndef DANESCAN_REPORT_TEXT_H
#define DANESCAN_REPORT_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "model.h"

/* d as text on out, flushed; ANSI colours only when color.  0, or -1 when
 * it could not be written. */
int report_text_write(FILE *out, const model_domain_t *d, bool color);

/* The words for one value of a vocabulary; NULL for a value the tables
 * do not know (the unit test requires words for every value). */
const char *report_text_verdict_words(model_verdict_t verdict);
const char *report_text_host_status_words(model_host_status_t status);
const char *report_text_addr_result_words(model_addr_result_t result);

#endif
