// Raw readers against the fixtures in tests/data/raw (contents counted by hand, listed in each
// test), and every kind of bad input: the error must name the file and line.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "io/raw.h"

using namespace ckf;
namespace fs = std::filesystem;

namespace {

const fs::path kRaw = fs::path(CKF_TEST_DATA_DIR) / "raw";

// A fresh scratch directory per test.
fs::path scratch(const std::string& name) {
  fs::path d = fs::path(testing::TempDir()) / ("raw_readers_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// Runs f, expects a ckf::Error whose message contains every needle.
template <class F>
void expect_error(F f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << *needles.begin();
  } catch (const Error& e) {
    for (const std::string& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

std::string raw_id(const IdInterner& ids, int32_t i) { return ids.names.at(size_t(i)); }

}  // namespace

TEST(RawMovieLensLatest, Fixture) {
  RawDataset d = raw_read_movielens_latest(kRaw / "ml-latest-tiny");
  // 12 rating lines; users 1, 2, 3, 10; 6 movies in movies.csv (movie 30 is never rated).
  ASSERT_EQ(d.size(), 12u);
  EXPECT_EQ(d.users.names.size(), 4u);
  EXPECT_EQ(d.items.names.size(), 6u);
  ASSERT_EQ(d.title.size(), 6u);
  EXPECT_EQ(d.title[size_t(d.items.find("2"))], "American President, The (1995)");
  EXPECT_EQ(d.title[size_t(d.items.find("3"))], "\"Great Performances\" Cats (1998)");
  EXPECT_EQ(d.title[size_t(d.items.find("10"))], "11'09\"01 - September 11 (2002)");
  EXPECT_EQ(d.title[size_t(d.items.find("20"))], "L\xC3\xA9on: The Professional (1994)");
  EXPECT_EQ(d.title[size_t(d.items.find("30"))], "Unrated Movie (2000)");
  // Line 4 of ratings.csv: 1,3,5.0,150
  EXPECT_EQ(raw_id(d.users, d.user[2]), "1");
  EXPECT_EQ(raw_id(d.items, d.item[2]), "3");
  EXPECT_FLOAT_EQ(d.rating[2], 5.0f);
  EXPECT_EQ(d.timestamp[2], 150);
  // Line 5: 1,10,0.5,300
  EXPECT_FLOAT_EQ(d.rating[3], 0.5f);
  // Last line: 10,3,2.5,400
  EXPECT_EQ(raw_id(d.users, d.user[11]), "10");
  EXPECT_FLOAT_EQ(d.rating[11], 2.5f);
  EXPECT_EQ(d.timestamp[11], 400);
  EXPECT_TRUE(d.review.empty());
}

TEST(RawMovieLens1M, FixtureLatin1) {
  RawDataset d = raw_read_movielens_1m(kRaw / "ml-1m-tiny");
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d.users.names.size(), 2u);
  EXPECT_EQ(d.items.names.size(), 3u);
  // 0xE9 (Latin-1 e acute) becomes C3 A9.
  EXPECT_EQ(d.title[size_t(d.items.find("2"))], "Mis\xC3\xA9rables, Les (1995)");
  EXPECT_EQ(d.title[size_t(d.items.find("1"))], "Toy Story (1995)");
  EXPECT_EQ(raw_id(d.users, d.user[3]), "2");
  EXPECT_EQ(raw_id(d.items, d.item[3]), "3");
  EXPECT_FLOAT_EQ(d.rating[3], 1.0f);
  EXPECT_EQ(d.timestamp[3], 978300275);
}

TEST(RawAmazon, FixturePlainAndGzipAgree) {
  for (const char* name : {"reviews.json", "reviews.json.gz"}) {
    SCOPED_TRACE(name);
    RawDataset d = raw_read_amazon(kRaw / "amazon-tiny" / name, kRaw / "amazon-tiny" / "meta.json");
    // 5 reviews (one blank line skipped), users A2SUAM1J3GNN3B, AZZZ, AYYY; items B001..B003.
    ASSERT_EQ(d.size(), 5u);
    EXPECT_EQ(d.users.names.size(), 3u);
    EXPECT_EQ(d.items.names.size(), 3u);
    EXPECT_EQ(d.review[0], "I bought this for my husband \xC3\xA9 \xF0\x9F\x98\x80");
    EXPECT_EQ(d.summary[0], "Heavenly \"Highlander\"");
    EXPECT_EQ(d.review[1], "");  // no reviewText
    EXPECT_EQ(d.review[2], "Broke\nafter a day");
    EXPECT_FLOAT_EQ(d.rating[2], 1.0f);
    EXPECT_EQ(d.timestamp[4], 1300000000);
    EXPECT_EQ(raw_id(d.users, d.user[4]), "AYYY");
    EXPECT_EQ(d.title[size_t(d.items.find("B001"))], "Widget, \"Deluxe\" \xE2\x80\x93 Blue");
    EXPECT_EQ(d.title[size_t(d.items.find("B002"))], "Gadget");
    EXPECT_EQ(d.title[size_t(d.items.find("B003"))], "");  // no metadata line
    EXPECT_EQ(d.items.find("B999"), -1);                   // metadata of an unreviewed item is ignored
  }
}

TEST(RawAmazon, PythonLiteralMetadata2014) {
  RawDataset d = raw_read_amazon(kRaw / "amazon-tiny" / "reviews.json", kRaw / "amazon-tiny" / "meta-2014.json");
  EXPECT_EQ(d.title[size_t(d.items.find("B001"))], "Bob's Widget");
  EXPECT_EQ(d.title[size_t(d.items.find("B002"))], "");  // 2014 line without a title
  EXPECT_EQ(d.title[size_t(d.items.find("B003"))], "Plain");
}

TEST(RawCsv, Quoting) {
  EXPECT_EQ(csv_split("a,\"b,c\",\"d\"\"e\",,f", "x"), (std::vector<std::string>{"a", "b,c", "d\"e", "", "f"}));
  EXPECT_EQ(csv_split("", "x"), (std::vector<std::string>{""}));
  EXPECT_EQ(csv_split("\"\"", "x"), (std::vector<std::string>{""}));
  expect_error([] { csv_split("1,\"open", "f.csv:7"); }, {"f.csv:7", "unterminated quote"});
  expect_error([] { csv_split("1,\"a\"b", "f.csv:8"); }, {"f.csv:8", "after a closing quote"});
}

TEST(RawBadInput, MissingColumn) {
  fs::path d = scratch("missing_column");
  fs::copy_file(kRaw / "ml-latest-tiny" / "movies.csv", d / "movies.csv");
  write_file(d / "ratings.csv", "userId,movieId,timestamp\n1,1,100\n");
  expect_error([&] { raw_read_movielens_latest(d); }, {(d / "ratings.csv").string() + ":1", "missing column 'rating'"});
}

TEST(RawBadInput, UnparsableLinesNameFileAndLine) {
  fs::path d = scratch("unparsable");
  fs::copy_file(kRaw / "ml-latest-tiny" / "movies.csv", d / "movies.csv");
  write_file(d / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,100\n1,2,four,200\n");
  expect_error([&] { raw_read_movielens_latest(d); }, {(d / "ratings.csv").string() + ":3", "rating 'four'"});
  write_file(d / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0\n");
  expect_error([&] { raw_read_movielens_latest(d); }, {(d / "ratings.csv").string() + ":2", "fields"});
  write_file(d / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,12x\n");
  expect_error([&] { raw_read_movielens_latest(d); }, {":2", "timestamp"});

  fs::path m = scratch("unparsable_1m");
  fs::copy_file(kRaw / "ml-1m-tiny" / "movies.dat", m / "movies.dat");
  write_file(m / "ratings.dat", "1::1::5::978300760\n1::2::3\n");
  expect_error([&] { raw_read_movielens_1m(m); }, {(m / "ratings.dat").string() + ":2", "found 3 fields"});

  fs::path a = scratch("unparsable_amazon");
  write_file(a / "r.json", "{\"reviewerID\": \"A\", \"asin\": \"B\", \"overall\": 5.0, \"unixReviewTime\": 1}\n"
                           "{\"reviewerID\": \"A\", \"asin\": \"C\", \"overall\": 5.0, \"unixReviewTime\": 1\n");
  expect_error([&] { raw_read_amazon(a / "r.json", {}); }, {(a / "r.json").string() + ":2", "at byte"});
  write_file(a / "r.json", "{\"reviewerID\": \"A\", \"overall\": 5.0, \"unixReviewTime\": 1}\n");
  expect_error([&] { raw_read_amazon(a / "r.json", {}); }, {":1", "missing field \"asin\""});
  write_file(a / "r.json", "{\"reviewerID\": \"A\", \"asin\": \"B\", \"overall\": \"5\", \"unixReviewTime\": 1}\n");
  expect_error([&] { raw_read_amazon(a / "r.json", {}); }, {":1", "\"overall\" is a string"});
  write_file(a / "r.json", "{\"reviewerID\": \"A\", \"asin\": \"B\", \"overall\": 5, \"unixReviewTime\": 1}\n");
  write_file(a / "m.json", "{\"asin\": \"B\", \"title\": \"x\"}\n{'asin': 'B', 'title': 'unterminated}\n");
  expect_error([&] { raw_read_amazon(a / "r.json", a / "m.json"); }, {(a / "m.json").string() + ":2"});
}

TEST(RawBadInput, RatingOutOfRange) {
  fs::path d = scratch("rating_range");
  fs::copy_file(kRaw / "ml-latest-tiny" / "movies.csv", d / "movies.csv");
  for (const char* r : {"5.5", "0", "-1", "nan", "inf"}) {
    write_file(d / "ratings.csv", std::string("userId,movieId,rating,timestamp\n1,1,4,1\n1,2,") + r + ",2\n");
    expect_error([&] { raw_read_movielens_latest(d); }, {(d / "ratings.csv").string() + ":3"});
  }
  fs::path a = scratch("rating_range_amazon");
  write_file(a / "r.json", "{\"reviewerID\": \"A\", \"asin\": \"B\", \"overall\": 6.0, \"unixReviewTime\": 1}\n");
  expect_error([&] { raw_read_amazon(a / "r.json", {}); }, {":1", "outside [0.5, 5]"});
}

TEST(RawBadInput, DuplicateMovieIds) {
  fs::path d = scratch("dup_movies");
  write_file(d / "movies.csv", "movieId,title,genres\n1,A (1990),Drama\n2,B (1991),Drama\n1,C (1992),Drama\n");
  write_file(d / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,1\n");
  expect_error([&] { raw_read_movielens_latest(d); }, {(d / "movies.csv").string() + ":4", "duplicate movie id 1"});
  fs::path m = scratch("dup_movies_1m");
  write_file(m / "movies.dat", "5::A (1990)::Drama\n5::B (1991)::Drama\n");
  write_file(m / "ratings.dat", "1::5::4::1\n");
  expect_error([&] { raw_read_movielens_1m(m); }, {(m / "movies.dat").string() + ":2", "duplicate movie id 5"});
  fs::path a = scratch("dup_meta");
  write_file(a / "r.json", "{\"reviewerID\": \"A\", \"asin\": \"B\", \"overall\": 5, \"unixReviewTime\": 1}\n");
  write_file(a / "m.json", "{\"asin\": \"B\", \"title\": \"x\"}\n{\"asin\": \"B\", \"title\": \"y\"}\n");
  expect_error([&] { raw_read_amazon(a / "r.json", a / "m.json"); }, {(a / "m.json").string() + ":2", "duplicate asin B"});
}

TEST(RawBadInput, EmptyAndMissingFiles) {
  fs::path d = scratch("empty");
  write_file(d / "movies.csv", "");
  write_file(d / "ratings.csv", "userId,movieId,rating,timestamp\n");
  expect_error([&] { raw_read_movielens_latest(d); }, {(d / "movies.csv").string(), "empty file"});
  fs::copy_file(kRaw / "ml-latest-tiny" / "movies.csv", d / "movies.csv", fs::copy_options::overwrite_existing);
  expect_error([&] { raw_read_movielens_latest(d); }, {(d / "ratings.csv").string(), "no ratings"});
  write_file(d / "r.json", "\n\n");
  expect_error([&] { raw_read_amazon(d / "r.json", {}); }, {(d / "r.json").string(), "no reviews"});
  expect_error([&] { raw_read_movielens_1m(d); }, {(d / "movies.dat").string(), "no such file"});
}

TEST(RawBadInput, GzipEndsEarly) {
  fs::path d = scratch("gzip_truncated");
  std::ifstream in(kRaw / "amazon-tiny" / "reviews.json.gz", std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(gz.size(), 100u);
  write_file(d / "cut.json.gz", gz.substr(0, gz.size() - 30));  // loses the deflate end and the trailer
  expect_error([&] { raw_read_amazon(d / "cut.json.gz", {}); }, {(d / "cut.json.gz").string(), "truncated gzip"});
}

TEST(RawLatin1, EveryHighByte) {
  // Latin-1 code point c >= 0x80 is U+00c0.. : two UTF-8 bytes 0xC0 | c >> 6, 0x80 | c & 0x3F.
  for (int c = 0x80; c <= 0xFF; ++c) {
    std::string u = latin1_to_utf8(std::string(1, char(c)));
    ASSERT_EQ(u.size(), 2u);
    EXPECT_EQ((unsigned char)u[0], 0xC0 | (c >> 6));
    EXPECT_EQ((unsigned char)u[1], 0x80 | (c & 0x3F));
  }
  EXPECT_EQ(latin1_to_utf8("plain"), "plain");
}
