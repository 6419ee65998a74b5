// Everything in kiln::data in one include: datasets, samplers, the DataLoader and batch transforms.
#pragma once
#include "kiln/data/dataloader.h"
#include "kiln/data/dataset.h"
#include "kiln/data/datasets.h"
#include "kiln/data/transforms.h"
