/*
 * What a device may ask of the machine it sits in, without knowing it:
 * a system reset (the i8042's 0xFE pulse, a triple fault) or, for test
 * devices, the end of the process with a status.  The VM implements these by
 * posting a request to the main loop; the device returns at once.
 *
 * Thread context: called with the VM lock held, usually on a vCPU thread.
 */
#ifndef HW_MACHINE_CTL_H
#define HW_MACHINE_CTL_H

struct machine_ctl {
    void (*reset)(void *opaque);
    void (*exit)(void *opaque, int status);
    void *opaque;
};

#endif
