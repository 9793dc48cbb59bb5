// The sanitizer suite: every file named (or every file in a directory named) through the
// same harness as the fuzzer, once with the fuzzer's limits and once with none (the
// runtime's own caps, gate 1 then gate 0). Any ASan or UBSan report aborts with the file named.
// Paths after --name-refusals (real models) print why a refused file was refused.
#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <algorithm>
#include <string>
#include <vector>
#include <sanitizer/common_interface_defs.h>
#include "harness.h"
#include "sparsegate.h"

static std::string g_current;

static void name_the_file() { fprintf(stderr, "sanitize: the report above is for %s\n", g_current.c_str()); }

struct Input {
  std::string path;
  bool name_refusal;
};

static void collect(const std::string& path, bool name_refusal, std::vector<Input>* files) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    fprintf(stderr, "sanitize: %s: no such file or directory\n", path.c_str());
    exit(2);
  }
  if (!S_ISDIR(st.st_mode)) {
    files->push_back({path, name_refusal});
    return;
  }
  DIR* d = opendir(path.c_str());
  std::vector<std::string> names;
  while (dirent* e = d ? readdir(d) : nullptr)
    if (e->d_name[0] != '.') names.push_back(path + "/" + e->d_name);
  if (d) closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) collect(n, name_refusal, files);
}

static bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return false;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
  fclose(f);
  return true;
}

int main(int argc, char** argv) {
  std::vector<Input> files;
  bool name_refusals = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--name-refusals")) name_refusals = true;
    else collect(argv[i], name_refusals, &files);
  }
  if (files.empty()) {
    fprintf(stderr, "usage: sanitize FILE_OR_DIR... [--name-refusals FILE_OR_DIR...]\n");
    return 2;
  }
  __sanitizer_set_death_callback(name_the_file);
  timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int stages[2][4] = {};
  for (const Input& in : files) {
    const std::string& path = in.path;
    g_current = path;
    std::vector<uint8_t> data;
    if (!read_file(path, &data)) {
      fprintf(stderr, "sanitize: cannot read %s\n", path.c_str());
      return 2;
    }
    stages[0][fuzz_exercise(data.data(), data.size(), kFuzzMaxBytes, kFuzzMaxMacs, 1).stage]++;
    FuzzStage full = fuzz_exercise(data.data(), data.size(), 0, 0, 2).stage;
    stages[1][full]++;
    if (full != FUZZ_RAN && in.name_refusal) printf("sanitize: %s refused: %s\n", path.c_str(), sg_last_error());
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  const char* pass[2] = {"fuzzer limits", "no limits"};
  printf("sanitize: %zu files, no sanitizer report, %.1f s\n", files.size(), s);
  for (int p = 0; p < 2; p++)
    printf("  %-13s refused at load %d, refused at create %d, run failed %d, ran %d\n", pass[p], stages[p][0],
           stages[p][1], stages[p][2], stages[p][3]);
  return 0;
}
