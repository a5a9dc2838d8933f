/* ostls's Linux stand-in for the part of <dispatch/dispatch.h> the macOS
 * engines use: serial queues are a thread each (fake.c). Written for ostls. */
#ifndef OSTLS_STANDIN_DISPATCH_H
#define OSTLS_STANDIN_DISPATCH_H
#include <stdbool.h>
#include <stddef.h>
typedef struct standin_queue *dispatch_queue_t;
typedef struct standin_queue_attr *dispatch_queue_attr_t;
typedef struct standin_data *dispatch_data_t;
typedef void (^dispatch_block_t)(void);
typedef bool (^dispatch_data_applier_t)(dispatch_data_t region, size_t offset, const void *buffer, size_t size);
#define DISPATCH_QUEUE_SERIAL ((dispatch_queue_attr_t)0)
#define DISPATCH_DATA_DESTRUCTOR_DEFAULT ((dispatch_block_t)0)
dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr);
void dispatch_release(void *object);
void dispatch_retain(void *object);
void dispatch_async(dispatch_queue_t queue, dispatch_block_t block);
dispatch_data_t dispatch_data_create(const void *buffer, size_t size, dispatch_queue_t queue,
                                     dispatch_block_t destructor);
size_t dispatch_data_get_size(dispatch_data_t data);
bool dispatch_data_apply(dispatch_data_t data, dispatch_data_applier_t applier);
#endif
