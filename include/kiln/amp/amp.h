// Mixed precision: autocast regions and loss scaling (GradScaler).
#pragma once
#include "kiln/amp/autocast.h"
#include "kiln/amp/grad_scaler.h"
