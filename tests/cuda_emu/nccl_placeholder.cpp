// Placeholders for the NCCL functions ckf calls, until tests/cuda_emu/nccl_emu.cpp (NCCL over
// shared memory between local processes) provides them: weak definitions, so that file's strong
// ones replace these without an edit here (ckf_cuda_emu is a shared library: every object of it
// is linked, and a strong definition wins over a weak one). Each collective fails with
// ncclInvalidUsage and says why; ncclGetVersion reports the headers' version.
#include <nccl.h>

#define CKF_EMU_WEAK __attribute__((weak))

namespace {
const char* const kNotEmulated = "NCCL collectives are not emulated in this build (no tests/cuda_emu/nccl_emu.cpp)";
}

CKF_EMU_WEAK ncclResult_t ncclGetVersion(int* version) {
  if (!version) return ncclInvalidArgument;
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}
CKF_EMU_WEAK const char* ncclGetErrorString(ncclResult_t result) {
  return result == ncclSuccess ? "no error" : "NCCL error (emulator placeholder)";
}
CKF_EMU_WEAK const char* ncclGetLastError(ncclComm_t) { return kNotEmulated; }
CKF_EMU_WEAK ncclResult_t ncclGetUniqueId(ncclUniqueId*) { return ncclInvalidUsage; }
CKF_EMU_WEAK ncclResult_t ncclCommInitRank(ncclComm_t*, int, ncclUniqueId, int) { return ncclInvalidUsage; }
CKF_EMU_WEAK ncclResult_t ncclCommDestroy(ncclComm_t) { return ncclInvalidUsage; }
CKF_EMU_WEAK ncclResult_t ncclAllReduce(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                                        cudaStream_t) {
  return ncclInvalidUsage;
}
CKF_EMU_WEAK ncclResult_t ncclAllGather(const void*, void*, size_t, ncclDataType_t, ncclComm_t, cudaStream_t) {
  return ncclInvalidUsage;
}
CKF_EMU_WEAK ncclResult_t ncclReduceScatter(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                                            cudaStream_t) {
  return ncclInvalidUsage;
}
CKF_EMU_WEAK ncclResult_t ncclBroadcast(const void*, void*, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t) {
  return ncclInvalidUsage;
}
