/** Where edge-proxy keeps its own state on a host, outside the configured directories. */

/** Where the preparation records the container's directories, outside them: a moved directory is found there. */
export function hostStatePath(containerName: string): string {
    return `/var/lib/edge-proxy/${containerName}`;
}
