/** Helpers shared by the flavor module's readers; not an API for other modules. */
package dev.llmbatch.flavor.internal;
