// Serialises a Json value (io/json.h) as strict JSON: integers exactly, other numbers in the
// shortest form that reads back to the same double, non-finite numbers as null (JSON has none),
// strings with the escapes RFC 8259 requires. Deterministic: equal values give equal text.
#pragma once
#include <string>

#include "io/json.h"

namespace ckf {

// indent > 0: one member or element a line, nested by indent spaces; 0: a single line.
std::string json_write(const Json& value, int indent = 2);

}  // namespace ckf
