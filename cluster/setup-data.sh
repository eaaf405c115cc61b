#!/usr/bin/env bash
# Makes the embedded default dataset available: the MovieLens "latest-small" ratings shipped in
# Debian's r-cran-dslabs, exported to the MovieLens latest CSV format that `ckf prep --source
# movielens-latest` reads. Idempotent: a complete export with the right counts is left alone.
# Output: ${CKF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckf}/data/movielens-small/{ratings,movies}.csv
set -euo pipefail

cache=${CKF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckf}
out="$cache/data/movielens-small"
expected_ratings=100004 expected_users=671 expected_movies=9066

# Counts from the CSVs themselves (header excluded), so a partial or foreign export is redone.
counts_ok() {
  [ -f "$out/ratings.csv" ] && [ -f "$out/movies.csv" ] || return 1
  local r m
  r=$(($(wc -l < "$out/ratings.csv") - 1))
  m=$(Rscript -e "cat(nrow(read.csv('$out/movies.csv')))" 2>/dev/null) || return 1
  [ "$r" -eq "$expected_ratings" ] && [ "$m" -eq "$expected_movies" ]
}

if counts_ok; then
  echo "setup-data: $out already holds $expected_ratings ratings, $expected_movies movies"
  exit 0
fi

if ! Rscript -e 'suppressMessages(library(dslabs))' >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup-data: installing r-cran-dslabs"
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends r-cran-dslabs; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends r-cran-dslabs
  fi
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.export.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# dslabs keeps one row per rating with the movie's title (year split off) and genres joined in;
# the MovieLens title is "Title (Year)", and a handful of movies have no year.
Rscript --vanilla - "$tmp" "$expected_ratings" "$expected_users" "$expected_movies" <<'RSCRIPT'
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
suppressMessages(library(dslabs))
data(movielens)
m <- movielens
ratings <- m[order(m$userId, m$movieId), c("userId", "movieId", "rating", "timestamp")]
first <- m[!duplicated(m$movieId), c("movieId", "title", "year", "genres")]
first <- first[order(first$movieId), ]
title <- ifelse(is.na(first$year), first$title, paste0(first$title, " (", first$year, ")"))
movies <- data.frame(movieId = first$movieId, title = enc2utf8(title), genres = as.character(first$genres))
n <- c(nrow(ratings), length(unique(ratings$userId)), nrow(movies))
want <- as.integer(args[2:4])
if (any(n != want))
  stop(sprintf("dslabs movielens has %d ratings, %d users, %d movies; expected %d, %d, %d",
               n[1], n[2], n[3], want[1], want[2], want[3]))
# Titles and genres are quoted with embedded quotes doubled, as RFC 4180 (and MovieLens) does.
options(scipen = 100)
write.csv(ratings, file.path(dir, "ratings.csv"), row.names = FALSE, quote = FALSE)
con <- file(file.path(dir, "movies.csv"), open = "w", encoding = "UTF-8")
writeLines("movieId,title,genres", con)
write.table(movies, con, sep = ",", quote = c(2, 3), qmethod = "double", row.names = FALSE, col.names = FALSE)
close(con)
cat(sprintf("setup-data: exported %d ratings, %d users, %d movies\n", n[1], n[2], n[3]))
RSCRIPT

mv -f "$tmp/ratings.csv" "$out/ratings.csv"
mv -f "$tmp/movies.csv" "$out/movies.csv"
counts_ok || { echo "setup-data: export in $out failed its count check" >&2; exit 1; }
echo "setup-data: $out ready"
