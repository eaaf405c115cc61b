// `ckf train`: CKF training under mpirun / srun (train/trainer.h); options in train/train_config.h.
#include <iostream>

#include "dist/mpi_communicator.h"
#include "dist/world.h"
#include "launch/command.h"
#include "train/trainer.h"

namespace ckf {

static int train_command(const std::vector<std::string>& args) {
  TrainConfig cfg;
  if (!train_config_parse(args, cfg, std::cout)) return 0;
  world_init(nullptr, nullptr);
  int status = 0;
  {
    std::unique_ptr<MpiCommunicator> world = MpiCommunicator::world();
    status = train_run(cfg, *world);
  }
  world_finalize();
  return status;
}

CKF_COMMAND("train", "train CKF (mapper + Multi-LoRA) on a prepared dataset and CF embeddings", train_command);

}  // namespace ckf
