// The whole nn API in one include: Module, holders, containers, layers, losses, init and functional.
#pragma once
#include "kiln/nn/container.h"
#include "kiln/nn/distributed.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/holder.h"
#include "kiln/nn/init.h"
#include "kiln/nn/layers/activation.h"
#include "kiln/nn/layers/dropout.h"
#include "kiln/nn/layers/embedding.h"
#include "kiln/nn/layers/linear.h"
#include "kiln/nn/layers/loss.h"
#include "kiln/nn/layers/normalization.h"
#include "kiln/nn/module.h"
