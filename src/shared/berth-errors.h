/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.berth1.Error.* names, shared by berthd (daemon/bus-errors.c maps errno values to them) and
 * berthctl (which turns them into messages). */
#define BERTH_ERROR_NO_SUCH_IMAGE         "org.berth1.Error.NoSuchImage"
#define BERTH_ERROR_NO_SUCH_CONTAINER     "org.berth1.Error.NoSuchContainer"
#define BERTH_ERROR_NO_SUCH_TRANSFER      "org.berth1.Error.NoSuchTransfer"
#define BERTH_ERROR_NAME_IN_USE           "org.berth1.Error.NameInUse"
#define BERTH_ERROR_INVALID_REFERENCE     "org.berth1.Error.InvalidReference"
#define BERTH_ERROR_INVALID_NAME          "org.berth1.Error.InvalidName"
#define BERTH_ERROR_IMAGE_IN_USE          "org.berth1.Error.ImageInUse"
#define BERTH_ERROR_CONTAINER_RUNNING     "org.berth1.Error.ContainerRunning"
#define BERTH_ERROR_CONTAINER_NOT_RUNNING "org.berth1.Error.ContainerNotRunning"
#define BERTH_ERROR_REGISTRY_ERROR        "org.berth1.Error.RegistryError"
#define BERTH_ERROR_MANIFEST_UNKNOWN      "org.berth1.Error.ManifestUnknown"
#define BERTH_ERROR_UNAUTHORIZED          "org.berth1.Error.Unauthorized"
#define BERTH_ERROR_DIGEST_MISMATCH       "org.berth1.Error.DigestMismatch"
#define BERTH_ERROR_NO_MATCHING_PLATFORM  "org.berth1.Error.NoMatchingPlatform"
#define BERTH_ERROR_INVALID_IMAGE         "org.berth1.Error.InvalidImage"
#define BERTH_ERROR_TRANSFER_CANCELLED    "org.berth1.Error.TransferCancelled"
#define BERTH_ERROR_START_FAILED          "org.berth1.Error.StartFailed"
#define BERTH_ERROR_NO_SPACE              "org.berth1.Error.NoSpace"
#define BERTH_ERROR_NO_SUCH_VOLUME        "org.berth1.Error.NoSuchVolume"
#define BERTH_ERROR_VOLUME_IN_USE         "org.berth1.Error.VolumeInUse"
/* User networks (daemon/network-dbus.c). */
#define BERTH_ERROR_NO_SUCH_NETWORK "org.berth1.Error.NoSuchNetwork"
#define BERTH_ERROR_NETWORK_IN_USE  "org.berth1.Error.NetworkInUse"
#define BERTH_ERROR_SUBNET_IN_USE   "org.berth1.Error.SubnetInUse"
/* A build that failed (a step's error says which), or was cancelled (Build.Cancel). */
#define BERTH_ERROR_BUILD_FAILED    "org.berth1.Error.BuildFailed"
#define BERTH_ERROR_BUILD_CANCELLED "org.berth1.Error.BuildCancelled"
