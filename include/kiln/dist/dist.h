// The distributed layer in one include: process groups, the rendezvous store, the launcher's variables.
#pragma once
#include "kiln/dist/launch_env.h"
#include "kiln/dist/process_group.h"
#include "kiln/dist/store.h"
