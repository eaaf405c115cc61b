// MovieLens readers: 1M (.dat with "::" separators, Latin-1) and latest/25M/small (CSV, UTF-8).
#include <string>
#include <vector>

#include "core/check.h"
#include "io/line_reader.h"
#include "io/raw.h"

namespace ckf {

namespace fs = std::filesystem;

namespace {

std::vector<std::string_view> split_colons(std::string_view line) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t at = line.find("::", start);
    parts.push_back(line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 2;
  }
}

void add_rating(RawDataset& d, std::string_view user, std::string_view item, std::string_view rating,
                std::string_view ts, const std::string& where) {
  raw_parse_int(user, where, "user id");  // ids are integers in every MovieLens release
  raw_parse_int(item, where, "movie id");
  double r = raw_parse_double(rating, where, "rating");
  raw_check_rating(r, where);
  d.user.push_back(d.users.intern(user));
  d.item.push_back(d.items.intern(item));
  d.rating.push_back(float(r));
  d.timestamp.push_back(raw_parse_int(ts, where, "timestamp"));
}

void add_movie(RawDataset& d, std::string_view id, std::string title, const std::string& where) {
  raw_parse_int(id, where, "movie id");
  CKF_CHECK(d.items.find(id) < 0, where << ": duplicate movie id " << id);
  d.add_title(d.items.intern(id), std::move(title));
}

// Column positions in a CSV header, by name; a missing column is an error naming the file.
std::vector<size_t> csv_columns(LineReader& in, const std::vector<std::string>& want) {
  std::string_view line;
  CKF_CHECK(in.next(line), in.path().string() << ": empty file (expected a header line)");
  std::vector<std::string> header = csv_split(line, in.where());
  std::vector<size_t> cols;
  for (const std::string& w : want) {
    size_t c = 0;
    while (c < header.size() && header[c] != w) ++c;
    CKF_CHECK(c < header.size(), in.where() << ": missing column '" << w << "' in header '" << line << "'");
    cols.push_back(c);
  }
  return cols;
}

void finish(RawDataset& d, const fs::path& ratings) {
  CKF_CHECK(d.size() > 0, ratings.string() << ": no ratings");
  d.title.resize(d.items.names.size());
}

}  // namespace

RawDataset raw_read_movielens_1m(const fs::path& dir) {
  RawDataset d;
  {
    LineReader in(dir / "movies.dat");
    std::string_view line;
    while (in.next(line)) {
      if (line.empty()) continue;
      std::vector<std::string_view> f = split_colons(line);
      CKF_CHECK(f.size() == 3, in.where() << ": expected MovieID::Title::Genres, found " << f.size() << " fields");
      add_movie(d, f[0], latin1_to_utf8(f[1]), in.where());
    }
    CKF_CHECK(in.line_number() > 0, in.path().string() << ": empty file");
  }
  LineReader in(dir / "ratings.dat");
  std::string_view line;
  while (in.next(line)) {
    if (line.empty()) continue;
    std::vector<std::string_view> f = split_colons(line);
    CKF_CHECK(f.size() == 4,
              in.where() << ": expected UserID::MovieID::Rating::Timestamp, found " << f.size() << " fields");
    add_rating(d, f[0], f[1], f[2], f[3], in.where());
  }
  finish(d, in.path());
  return d;
}

RawDataset raw_read_movielens_latest(const fs::path& dir) {
  RawDataset d;
  {
    LineReader in(dir / "movies.csv");
    std::vector<size_t> c = csv_columns(in, {"movieId", "title"});
    std::string_view line;
    while (in.next(line)) {
      if (line.empty()) continue;
      std::vector<std::string> f = csv_split(line, in.where());
      CKF_CHECK(f.size() > std::max(c[0], c[1]), in.where() << ": " << f.size() << " fields, header has more");
      add_movie(d, f[c[0]], std::move(f[c[1]]), in.where());
    }
  }
  LineReader in(dir / "ratings.csv");
  std::vector<size_t> c = csv_columns(in, {"userId", "movieId", "rating", "timestamp"});
  size_t need = std::max(std::max(c[0], c[1]), std::max(c[2], c[3])) + 1;
  std::string_view line;
  while (in.next(line)) {
    if (line.empty()) continue;
    std::vector<std::string> f = csv_split(line, in.where());
    CKF_CHECK(f.size() >= need, in.where() << ": " << f.size() << " fields, expected " << need);
    add_rating(d, f[c[0]], f[c[1]], f[c[2]], f[c[3]], in.where());
  }
  finish(d, in.path());
  return d;
}

}  // namespace ckf
