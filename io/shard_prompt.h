// The /prompt group of a shard (schema version 2): PromptColumns to and from HDF5, with every
// offset, position and id validated on read. Used by io/shard.cpp only.
#pragma once
#include "io/h5.h"
#include "io/shard.h"

namespace ckf {

void shard_prompt_write(H5File& f, const SampleTable& table);
// Reads /prompt into table.prompts (table's ids and shapes already read); errors name the file.
void shard_prompt_read(const H5File& f, SampleTable& table, const ShardInfo& info);

}  // namespace ckf
