// Raw readers: each source format becomes one RawDataset, the common table that `ckf prep` turns
// into a catalog. Raw ids are interned while reading (index = order of first appearance), so a
// 25M-row file costs a few ints per row rather than two strings.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ckf {

// Raw string id -> index of first appearance.
struct IdInterner {
  std::vector<std::string> names;                // (n) raw ids
  std::unordered_map<std::string, int32_t> index;  // raw id -> position in names
  int32_t intern(std::string_view name);
  int32_t find(std::string_view name) const;     // -1 when absent
};

struct RawDataset {
  IdInterner users;
  IdInterner items;                 // every item seen in interactions or in the title table
  std::vector<std::string> title;   // (items) "" when the source has no title for the item
  std::vector<int32_t> user;        // (N) index into users
  std::vector<int32_t> item;        // (N) index into items
  std::vector<float> rating;        // (N) in [0.5, 5]
  std::vector<int64_t> timestamp;   // (N) seconds since the epoch
  std::vector<std::string> review;  // (N) review text, or empty when the source has none
  std::vector<std::string> summary; // (N) review summary, or empty when the source has none

  size_t size() const { return user.size(); }
  void add_title(int32_t item, std::string text);
};

// Ratings outside [0.5, 5] or not finite are refused with the file and line.
void raw_check_rating(double rating, const std::string& where);

// MovieLens 1M: DIR/ratings.dat ("UserID::MovieID::Rating::Timestamp") and DIR/movies.dat
// ("MovieID::Title::Genres", Latin-1, converted to UTF-8).
RawDataset raw_read_movielens_1m(const std::filesystem::path& dir);

// MovieLens latest / 25M / small: DIR/ratings.csv (userId,movieId,rating,timestamp) and
// DIR/movies.csv (movieId,title,genres), RFC 4180 quoting, columns found by header name.
RawDataset raw_read_movielens_latest(const std::filesystem::path& dir);

// Amazon reviews 2014/2018: JSON lines, plain or gzipped (reviewerID, asin, overall,
// unixReviewTime, optional reviewText and summary), plus optional metadata JSON lines (asin, title)
// in strict JSON or the 2014 Python-literal style.
RawDataset raw_read_amazon(const std::filesystem::path& reviews, const std::filesystem::path& meta);

// Splits one CSV record (RFC 4180: "" inside quotes is a quote); quoted fields may not span lines.
// Errors name `where`.
std::vector<std::string> csv_split(std::string_view line, const std::string& where);

// Whole-field number parsing; errors name `where` and the field.
int64_t raw_parse_int(std::string_view text, const std::string& where, const char* field);
double raw_parse_double(std::string_view text, const std::string& where, const char* field);

// Latin-1 bytes -> UTF-8.
std::string latin1_to_utf8(std::string_view s);

}  // namespace ckf
