// Row gather for SampleTable: the one place that knows every per-sample column, so the loader
// carries whole samples whatever SampleTable holds. A column added to SampleTable is added here.
#pragma once
#include <cstddef>

#include "io/shard.h"

namespace ckf {

// Appends sample `row` of src to dst. An empty dst takes src's task, split and widths; otherwise
// they must match (a batch part holds one task of one split).
void sample_table_append_row(SampleTable& dst, const SampleTable& src, size_t row);

}  // namespace ckf
