// Every optimizer, gradient clipping and the learning-rate schedulers (like <torch/optim.h>).
#pragma once
#include "kiln/optim/adagrad.h"
#include "kiln/optim/adam.h"
#include "kiln/optim/clip.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/rmsprop.h"
#include "kiln/optim/schedulers.h"
#include "kiln/optim/sgd.h"
