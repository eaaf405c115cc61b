// Amazon reviews (McAuley et al., 2014 and 2018 releases): one JSON object per line, optionally
// gzipped. The 2014 metadata files are Python dict literals rather than JSON; those lines are parsed
// with JsonOptions::python_literals (tried only after strict JSON fails on the line).
#include "core/check.h"
#include "io/json.h"
#include "io/line_reader.h"
#include "io/raw.h"

namespace ckf {

namespace fs = std::filesystem;

namespace {

Json parse_line(std::string_view line, const std::string& where, bool allow_python) {
  try {
    return json_parse(line);
  } catch (const Error& strict) {
    if (allow_python) {
      try {
        return json_parse(line, JsonOptions{.python_literals = true});
      } catch (const Error&) {
      }
    }
    CKF_FAIL(where << ": " << strict.what());
  }
}

const Json& field(const Json& obj, const char* key, Json::Type type, const std::string& where) {
  const Json* v = obj.find(key);
  CKF_CHECK(v, where << ": missing field \"" << key << "\"");
  CKF_CHECK(v->type() == type,
            where << ": field \"" << key << "\" is a " << json_type_name(v->type()) << ", expected "
                  << json_type_name(type));
  return *v;
}

std::string optional_text(const Json& obj, const char* key) {
  const Json* v = obj.find(key);
  return v && v->is_string() ? v->as_string() : std::string();
}

}  // namespace

RawDataset raw_read_amazon(const fs::path& reviews, const fs::path& meta) {
  RawDataset d;
  LineReader in(reviews);
  std::string_view line;
  while (in.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    Json r = parse_line(line, in.where(), false);
    CKF_CHECK(r.is_object(), in.where() << ": expected a JSON object");
    const std::string& user = field(r, "reviewerID", Json::Type::String, in.where()).as_string();
    const std::string& item = field(r, "asin", Json::Type::String, in.where()).as_string();
    double rating = field(r, "overall", Json::Type::Number, in.where()).as_number();
    raw_check_rating(rating, in.where());
    const Json& ts = field(r, "unixReviewTime", Json::Type::Number, in.where());
    CKF_CHECK(ts.is_integer(), in.where() << ": unixReviewTime " << ts.as_number() << " is not an integer");
    d.user.push_back(d.users.intern(user));
    d.item.push_back(d.items.intern(item));
    d.rating.push_back(float(rating));
    d.timestamp.push_back(ts.as_int64());
    d.review.push_back(optional_text(r, "reviewText"));
    d.summary.push_back(optional_text(r, "summary"));
  }
  CKF_CHECK(d.size() > 0, reviews.string() << ": no reviews");
  d.title.resize(d.items.names.size());
  if (meta.empty()) return d;

  // Metadata lists many products nobody in this review file rated: keep titles of known items only.
  LineReader m(meta);
  std::vector<bool> seen(d.items.names.size(), false);
  while (m.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    Json r = parse_line(line, m.where(), true);
    CKF_CHECK(r.is_object(), m.where() << ": expected a JSON object");
    int32_t i = d.items.find(field(r, "asin", Json::Type::String, m.where()).as_string());
    if (i < 0) continue;
    CKF_CHECK(!seen[size_t(i)], m.where() << ": duplicate asin " << d.items.names[size_t(i)]);
    seen[size_t(i)] = true;
    d.title[size_t(i)] = optional_text(r, "title");
  }
  CKF_CHECK(m.line_number() > 0, meta.string() << ": empty file");
  return d;
}

}  // namespace ckf
