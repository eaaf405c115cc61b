#include "dist/mpi_communicator.h"

#include "core/check.h"

namespace ckf {

void mpi_check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  CKF_FAIL(call << ": MPI error " << code << ": " << std::string(text, len));
}

#define MPI_CHECK(call) mpi_check((call), #call)

static MPI_Datatype mpi_type(ElemType t) {
  switch (t) {
    case ElemType::f32: return MPI_FLOAT;
    case ElemType::f64: return MPI_DOUBLE;
    case ElemType::i32: return MPI_INT32_T;
    case ElemType::i64: return MPI_INT64_T;
  }
  CKF_FAIL("no MPI type for ElemType " << static_cast<int>(t));
}

static MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::sum ? MPI_SUM : MPI_MAX; }

static int comm_rank(MPI_Comm c) {
  int r = 0;
  MPI_CHECK(MPI_Comm_rank(c, &r));
  return r;
}

static int comm_size(MPI_Comm c) {
  int s = 0;
  MPI_CHECK(MPI_Comm_size(c, &s));
  return s;
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm, std::string name)
    : Communicator(std::move(name), comm_rank(comm), comm_size(comm)), comm_(comm) {
  MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
}

MpiCommunicator::~MpiCommunicator() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

std::unique_ptr<MpiCommunicator> MpiCommunicator::world() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  CKF_CHECK(initialised, "MpiCommunicator::world: MPI is not initialised (call world_init first)");
  // A duplicate keeps our traffic apart from any other library's use of MPI_COMM_WORLD.
  MPI_Comm dup = MPI_COMM_NULL;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
  return std::make_unique<MpiCommunicator>(dup, "world");
}

void MpiCommunicator::do_all_reduce(void* buf, int64_t count, ElemType type, ReduceOp op) {
  MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf, static_cast<int>(count), mpi_type(type), mpi_op(op), comm_));
}

void MpiCommunicator::do_all_gather(const void* send, void* recv, int64_t count, ElemType type) {
  const char* own_block = static_cast<const char*>(recv) + rank() * count * elem_size(type);
  const void* from = send == own_block ? MPI_IN_PLACE : send;
  MPI_CHECK(MPI_Allgather(from, static_cast<int>(count), mpi_type(type), recv, static_cast<int>(count),
                          mpi_type(type), comm_));
}

void MpiCommunicator::do_reduce_scatter(const void* send, void* recv, int64_t count, ElemType type, ReduceOp op) {
  MPI_CHECK(MPI_Reduce_scatter_block(send, recv, static_cast<int>(count), mpi_type(type), mpi_op(op), comm_));
}

void MpiCommunicator::do_broadcast(void* buf, int64_t count, ElemType type, int root) {
  MPI_CHECK(MPI_Bcast(buf, static_cast<int>(count), mpi_type(type), root, comm_));
}

void MpiCommunicator::do_barrier() { MPI_CHECK(MPI_Barrier(comm_)); }

std::unique_ptr<MpiCommunicator> MpiCommunicator::split_mpi(int color, int key, const std::string& name) {
  auto sub = split(color, key, name);
  return std::unique_ptr<MpiCommunicator>(static_cast<MpiCommunicator*>(sub.release()));
}

std::unique_ptr<Communicator> MpiCommunicator::do_split(int color, int key, const std::string& name) {
  MPI_Comm sub = MPI_COMM_NULL;
  MPI_CHECK(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &sub));
  if (sub == MPI_COMM_NULL) return nullptr;
  return std::make_unique<MpiCommunicator>(sub, name);
}

}  // namespace ckf
